//! Grants, reset codes, and refresh tokens in the DynamoDB table,
//! with the transactions that issue and consume them.

use async_trait::async_trait;

use super::DynamoStore;
use super::client::classify;
use super::keys::Key;
use super::records::{AuditRecord, CodeRecord, GrantRecord, OutboxRecord, Record, RefreshRecord};
use super::transactions::{
    bump_sequence, change_credential, extend_family, n, put, put_new, s, same_credential, use_code,
    use_grant, use_refresh,
};
use crate::crypto::SecretDigest;
use crate::domain::{
    OutboxItem, PasswordChange, Redemption, RefreshToken, ResetCode, ResetGrant, UnixTime, UserId,
};
use crate::store::{AccountStore, CredentialStore, StoreError};

#[async_trait]
impl CredentialStore for DynamoStore {
    async fn insert_grant(&self, grant: &ResetGrant, mail: &OutboxItem) -> Result<(), StoreError> {
        self.transact(vec![
            put_new(&self.table, &GrantRecord::from(grant))?,
            put_new(&self.table, &OutboxRecord::from(mail))?,
        ])
        .await
    }

    async fn grant(&self, digest: &SecretDigest) -> Result<Option<ResetGrant>, StoreError> {
        self.get::<GrantRecord>(Key::grant(digest))
            .await?
            .map(ResetGrant::try_from)
            .transpose()
    }

    async fn change_password(
        &self,
        ch: &PasswordChange,
        redemption: &Redemption,
    ) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(5);
        match redemption {
            Redemption::Grant(digest) => {
                items.push(use_grant(&self.table, Key::grant(digest), ch)?)
            }
            Redemption::Code { digest } => items.push(use_code(&self.table, ch, digest)?),
            Redemption::Nothing => {}
        }
        items.push(change_credential(&self.table, ch)?);
        items.push(put_new(&self.table, &OutboxRecord::from(&ch.notice))?);
        for webhook in &ch.webhooks {
            items.push(put_new(&self.table, &OutboxRecord::from(webhook))?);
        }
        items.push(put_new(&self.table, &AuditRecord::from(&ch.audit))?);
        if let Some(session) = &ch.session {
            items.push(put_new(&self.table, &RefreshRecord::from(session))?);
        }
        self.transact(items).await
    }

    async fn replace_reset_code(
        &self,
        code: &ResetCode,
        mail: Option<&OutboxItem>,
    ) -> Result<u64, StoreError> {
        let mut items = vec![
            put(&self.table, &CodeRecord::from(code))?,
            bump_sequence(&self.table, code)?,
        ];
        if let Some(m) = mail {
            items.push(put_new(&self.table, &OutboxRecord::from(m))?);
        }
        self.transact(items).await?;
        // Transactions return nothing: read the sequence they left.
        let user = self
            .user(&code.user_id)
            .await?
            .ok_or(StoreError::Conflict("no such user"))?;
        Ok(user.sequence)
    }

    async fn reset_code(&self, user: &UserId) -> Result<Option<ResetCode>, StoreError> {
        self.get::<CodeRecord>(Key::code(user))
            .await?
            .map(ResetCode::try_from)
            .transpose()
    }

    async fn claim_code_attempt(&self, code: &ResetCode, max: u32) -> Result<(), StoreError> {
        self.update(Key::code(&code.user_id))?
            .update_expression("SET attempts = attempts + :one")
            .condition_expression("digest = :digest AND attempts < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":digest", s(code.digest.as_str()))
            .expression_attribute_values(":max", n(max))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<RefreshToken>, StoreError> {
        self.get::<RefreshRecord>(Key::refresh(digest))
            .await?
            .map(RefreshToken::try_from)
            .transpose()
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(RefreshRecord::from(token).to_item()?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented: &RefreshToken,
        successor: &RefreshToken,
    ) -> Result<(), StoreError> {
        self.transact(vec![
            use_refresh(&self.table, presented, successor.issued_at)?,
            extend_family(&self.table, &presented.family, successor.expires_at)?,
            same_credential(&self.table, presented)?,
            put_new(&self.table, &RefreshRecord::from(successor))?,
        ])
        .await
    }

    async fn revoke_refresh_family(
        &self,
        family: &str,
        at: UnixTime,
        until: UnixTime,
    ) -> Result<(), StoreError> {
        self.update(Key::family(family))?
            .update_expression(
                "SET revoked_at = if_not_exists(revoked_at, :now), #ttl = :until, #kind = :kind",
            )
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#kind", super::table::KIND_ATTRIBUTE)
            .expression_attribute_values(":now", n(at))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":kind", s("refresh_family"))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
