//! Accounts and API keys in the DynamoDB table.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::client::classify;
use super::keys::Key;
use super::records::{ApiKeyRecord, EmailRecord, OutboxRecord, UserRecord};
use super::transactions::{n, put_new, s};
use crate::crypto::SecretDigest;
use crate::domain::{ApiKey, ChangeClaim, EmailAddress, OutboxItem, User, UserId};
use crate::store::{AccountStore, ApiKeyStore, StoreError};

#[async_trait]
impl AccountStore for DynamoStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        self.transact(vec![
            put_new(&self.table, &UserRecord::from(user))?,
            put_new(&self.table, &EmailRecord::from(user))?,
        ])
        .await
        .map_err(|e| e.conflict_as("a user with that id or email exists"))
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get::<UserRecord>(Key::user(id))
            .await?
            .map(User::try_from)
            .transpose()
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let Some(owner) = self.get::<EmailRecord>(Key::email(email)).await? else {
            // The second read a known address costs, of an account that
            // does not exist: the lookup takes the same time either way.
            let _ = self.user(&UserId::generate()).await?;
            return Ok(None);
        };
        self.user(&UserId::try_from(owner)?).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let mut users = self
            .scan_kind::<UserRecord>(None)
            .await?
            .into_iter()
            .map(User::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        users.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(users)
    }

    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<(), StoreError> {
        self.update(Key::user(id))?
            .update_expression("SET disabled = :d ADD credential_version :bump")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled))
            .expression_attribute_values(":bump", n(u64::from(disabled)))
            .send()
            .await
            .map_err(|e| classify(e).conflict_as("no such user"))?;
        Ok(())
    }

    async fn disable_user(&self, id: &UserId, notices: &[OutboxItem]) -> Result<(), StoreError> {
        let mut items = vec![super::transactions::disable_enabled_user(&self.table, id)?];
        for notice in notices {
            items.push(put_new(&self.table, &OutboxRecord::from(notice))?);
        }
        self.transact(items)
            .await
            .map_err(|e| e.conflict_as("no such enabled user"))
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<(), StoreError> {
        self.update(Key::user(id))?
            .update_expression("SET password_hash = :new")
            .condition_expression("attribute_exists(pk) AND password_hash = :expected")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":expected", s(expected))
            .send()
            .await
            .map_err(|e| classify(e).conflict_as("password hash changed meanwhile"))?;
        Ok(())
    }

    async fn claim_password_change(&self, claim: &ChangeClaim) -> Result<(), StoreError> {
        self.update(Key::user(&claim.user_id))?
            .update_expression(
                "SET change_holder = :holder, change_until = :until, change_version = :expected",
            )
            .condition_expression(
                "attribute_exists(pk) AND credential_version = :expected AND \
                 (attribute_not_exists(change_until) OR change_until <= :now \
                  OR change_version <> :expected OR change_holder = :holder)",
            )
            .expression_attribute_values(":holder", s(claim.holder.as_str()))
            .expression_attribute_values(":until", n(claim.until))
            .expression_attribute_values(":expected", n(claim.expected.0))
            .expression_attribute_values(":now", n(claim.at))
            .send()
            .await
            .map_err(|e| classify(e).conflict_as("password change claimed or credential moved"))?;
        Ok(())
    }

    async fn release_password_change(&self, id: &UserId, holder: &str) -> Result<(), StoreError> {
        self.update(Key::user(id))?
            .update_expression("REMOVE change_holder, change_until, change_version")
            .condition_expression("change_holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await
            .map_err(|e| classify(e).conflict_as("claim no longer held"))?;
        Ok(())
    }
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.transact(vec![put_new(&self.table, &ApiKeyRecord::from(key))?])
            .await
    }

    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError> {
        self.get::<ApiKeyRecord>(Key::api_key(digest))
            .await?
            .map(ApiKey::try_from)
            .transpose()
    }

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let mut keys = self
            .scan_kind::<ApiKeyRecord>(None)
            .await?
            .into_iter()
            .map(ApiKey::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| {
            (a.created_at, a.digest.as_str()).cmp(&(b.created_at, b.digest.as_str()))
        });
        Ok(keys)
    }

    async fn revoke_api_key(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        self.update(Key::api_key(digest))?
            .update_expression("SET revoked = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| classify(e).conflict_as("no such key"))?;
        Ok(())
    }
}
