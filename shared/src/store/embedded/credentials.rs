//! Grants, reset codes, and refresh tokens in SQLite, with the
//! transactions that issue and consume them.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::credential_rows::{GrantRow, RefreshRow, insert_grant_row, insert_refresh_row};
use super::journal::{insert_audit, insert_outbox};
use super::{EmbeddedStore, one_row, row_by_key};
use crate::crypto::SecretDigest;
use crate::domain::{
    CredentialVersion, OutboxItem, PasswordChange, Redemption, RefreshToken, ResetCode, ResetGrant,
    UnixTime, UserId,
};
use crate::store::{CredentialStore, StoreError};

/// Consumes what the change redeems; `Conflict` when it is already used.
fn redeem(tx: &Connection, ch: &PasswordChange, redemption: &Redemption) -> Result<(), StoreError> {
    let consumed = match redemption {
        Redemption::Grant(digest) => tx.execute(
            "UPDATE grants SET used_at = ?1
             WHERE digest = ?2 AND user_id = ?3 AND used_at IS NULL AND expires_at > ?1",
            params![ch.changed_at, digest.as_str(), ch.user_id.as_str()],
        )?,
        Redemption::Code { digest } => tx.execute(
            "DELETE FROM reset_codes WHERE user_id = ?1 AND digest = ?2",
            params![ch.user_id.as_str(), digest],
        )?,
        Redemption::Nothing => 1,
    };
    one_row(consumed, "credential already used")
}

/// `change_password`'s transaction: the redemption, the account's new
/// credential (if its version is still the expected one), the notice, the
/// webhooks, the audit event and the session.
fn write_password_change(
    tx: &Connection,
    ch: &PasswordChange,
    redemption: &Redemption,
) -> Result<(), StoreError> {
    redeem(tx, ch, redemption)?;
    let changed = tx.execute(
        "UPDATE users SET password_hash = ?1, credential_version = credential_version + 1,
                password_history = ?2, sequence = sequence + 1, changed_at = ?5
         WHERE id = ?3 AND credential_version = ?4",
        params![
            ch.new_hash,
            super::json_column(&ch.history)?,
            ch.user_id.as_str(),
            ch.expected.0 as i64,
            ch.changed_at
        ],
    )?;
    one_row(changed, "credential version moved on")?;
    insert_outbox(tx, &ch.notice)?;
    for webhook in &ch.webhooks {
        insert_outbox(tx, webhook)?;
    }
    insert_audit(tx, &ch.audit)?;
    if let Some(r) = &ch.session {
        insert_refresh_row(tx, r)?;
    }
    Ok(())
}

/// `replace_reset_code`'s transaction: the code, the account's sequence
/// moved on, and the mail; the new sequence.
fn write_reset_code(
    tx: &Connection,
    code: &ResetCode,
    mail: Option<&OutboxItem>,
) -> Result<u64, StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO reset_codes
         (user_id, digest, credential_version, issued_at, expires_at, attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            code.user_id.as_str(),
            code.digest,
            code.credential_version.0 as i64,
            code.issued_at,
            code.expires_at,
            code.attempts
        ],
    )?;
    let sequence: i64 = tx
        .query_row(
            "UPDATE users SET sequence = sequence + 1, changed_at = ?1 WHERE id = ?2 RETURNING sequence",
            params![code.issued_at, code.user_id.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(StoreError::Conflict("no such user"))?;
    if let Some(m) = mail {
        insert_outbox(tx, m)?;
    }
    Ok(sequence as u64)
}

/// `rotate_refresh_token`'s transaction: the presented token used when its
/// successor is issued, unless it was, has expired, its family is revoked
/// or its account's credential moved on; then its successor.
fn write_rotation(
    tx: &Connection,
    presented: &RefreshToken,
    successor: &RefreshToken,
) -> Result<(), StoreError> {
    let at = successor.issued_at;
    let used = tx.execute(
        "UPDATE refresh_tokens SET used_at = ?1
         WHERE digest = ?2 AND used_at IS NULL AND expires_at > ?1",
        params![at, presented.digest.as_str()],
    )?;
    one_row(used, "refresh token used, expired or unknown")?;
    let revoked: bool = tx.query_row(
        "SELECT COUNT(*) > 0 FROM refresh_families WHERE id = ?1",
        [presented.family.as_str()],
        |r| r.get(0),
    )?;
    if revoked {
        return Err(StoreError::Conflict("refresh token family revoked"));
    }
    let current: Option<i64> = tx
        .query_row(
            "SELECT credential_version FROM users WHERE id = ?1",
            [presented.user_id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    if current != Some(presented.credential_version.0 as i64) {
        return Err(StoreError::Conflict("credential version moved on"));
    }
    insert_refresh_row(tx, successor)
}

#[async_trait]
impl CredentialStore for EmbeddedStore {
    async fn insert_grant(&self, grant: &ResetGrant, mail: &OutboxItem) -> Result<(), StoreError> {
        let (g, m) = (grant.clone(), mail.clone());
        self.transact(move |tx| {
            insert_grant_row(tx, &g)?;
            insert_outbox(tx, &m)
        })
        .await
    }

    async fn grant(&self, digest: &SecretDigest) -> Result<Option<ResetGrant>, StoreError> {
        let d = digest.clone();
        self.run(move |c| {
            row_by_key(
                c,
                "SELECT user_id, credential_version, issued_at, expires_at, used_at, purpose, origin
                 FROM grants WHERE digest = ?1",
                d.as_str(),
                GrantRow::read,
                |row| row.into_grant(d.clone()),
            )
        })
        .await
    }

    async fn change_password(
        &self,
        change: &PasswordChange,
        redemption: &Redemption,
    ) -> Result<(), StoreError> {
        let (ch, redemption) = (change.clone(), redemption.clone());
        self.transact(move |tx| write_password_change(tx, &ch, &redemption))
            .await
    }

    async fn replace_reset_code(
        &self,
        code: &ResetCode,
        mail: Option<&OutboxItem>,
    ) -> Result<u64, StoreError> {
        let (code, mail) = (code.clone(), mail.cloned());
        self.transact(move |tx| write_reset_code(tx, &code, mail.as_ref()))
            .await
    }

    async fn reset_code(&self, user: &UserId) -> Result<Option<ResetCode>, StoreError> {
        let user = user.clone();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT digest, issued_at, expires_at, attempts, credential_version
                 FROM reset_codes WHERE user_id = ?1",
                [user.as_str()],
                |r| {
                    Ok(read_columns!(r, ResetCode {
                        digest, issued_at, expires_at, attempts;
                        credential_version: CredentialVersion(r.get::<_, i64>(4)? as u64),
                        user_id: user.clone()
                    }))
                },
            )
            .optional()?)
        })
        .await
    }

    async fn claim_code_attempt(&self, code: &ResetCode, max: u32) -> Result<(), StoreError> {
        let (user, digest) = (code.user_id.clone(), code.digest.clone());
        self.run(move |c| {
            let claimed = c.execute(
                "UPDATE reset_codes SET attempts = attempts + 1
                 WHERE user_id = ?1 AND digest = ?2 AND attempts < ?3",
                params![user.as_str(), digest, max],
            )?;
            one_row(claimed, "no attempt left")
        })
        .await
    }

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let d = digest.clone();
        self.run(move |c| {
            row_by_key(
                c,
                "SELECT user_id, credential_version, client_id, scope, issued_at, expires_at,
                        family, used_at
                 FROM refresh_tokens WHERE digest = ?1",
                d.as_str(),
                RefreshRow::read,
                |row| row.into_token(d.clone()),
            )
        })
        .await
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.transact(move |tx| insert_refresh_row(tx, &token))
            .await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &RefreshToken,
        successor: &RefreshToken,
    ) -> Result<(), StoreError> {
        let (presented, successor) = (presented.clone(), successor.clone());
        self.transact(move |tx| write_rotation(tx, &presented, &successor))
            .await
    }

    async fn revoke_refresh_family(
        &self,
        family: &str,
        at: UnixTime,
        _until: UnixTime,
    ) -> Result<(), StoreError> {
        let family = family.to_string();
        self.run(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO refresh_families (id, revoked_at) VALUES (?1, ?2)",
                params![family, at],
            )?;
            Ok(())
        })
        .await
    }
}
