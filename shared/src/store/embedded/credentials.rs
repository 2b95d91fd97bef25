//! Grants, reset codes, and refresh tokens in SQLite, with the
//! transactions that issue and consume them.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::journal::{insert_audit, insert_outbox};
use super::{EmbeddedStore, one_row, row_by_key};
use crate::crypto::SecretDigest;
use crate::domain::{
    CredentialVersion, GrantPurpose, OutboxItem, PasswordChange, Redemption, RefreshToken,
    ResetCode, ResetGrant, UnixTime, UserId,
};
use crate::store::{CredentialStore, StoreError};

pub(super) fn insert_grant_row(conn: &Connection, g: &ResetGrant) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO grants (digest, user_id, credential_version, issued_at, expires_at, used_at,
                             purpose, origin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            g.digest.as_str(),
            g.user_id.as_str(),
            g.credential_version.0 as i64,
            g.issued_at,
            g.expires_at,
            g.used_at,
            g.purpose.map(GrantPurpose::as_str),
            g.origin
        ],
    )?;
    Ok(())
}

fn parse_user(id: &str, whose: &'static str) -> Result<UserId, StoreError> {
    UserId::parse(id).ok_or_else(|| StoreError::corrupt(format!("{whose} user id")))
}

/// A `grants` row: user_id, credential_version, issued_at, expires_at,
/// used_at, purpose, origin (both NULL on rows written before them).
struct GrantRow(
    String,
    i64,
    UnixTime,
    UnixTime,
    Option<UnixTime>,
    Option<String>,
    Option<String>,
);

impl GrantRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        let (c0, c1, c2, c3, c4, c5, c6) = r.try_into()?;
        Ok(Self(c0, c1, c2, c3, c4, c5, c6))
    }

    fn into_grant(self, digest: SecretDigest) -> Result<ResetGrant, StoreError> {
        let GrantRow(user_id, version, issued_at, expires_at, used_at, purpose, origin) = self;
        Ok(ResetGrant {
            digest,
            user_id: parse_user(&user_id, "grant's")?,
            credential_version: CredentialVersion(version as u64),
            issued_at,
            expires_at,
            used_at,
            purpose: purpose
                .map(|p| {
                    GrantPurpose::parse(&p)
                        .ok_or_else(|| StoreError::corrupt(format!("grant purpose {p:?}")))
                })
                .transpose()?,
            origin,
        })
    }
}

/// A `refresh_tokens` row: user_id, credential_version, client_id, scope,
/// issued_at, expires_at, family and used_at (both NULL on rows from before
/// families).
struct RefreshRow(
    String,
    i64,
    String,
    String,
    UnixTime,
    UnixTime,
    Option<String>,
    Option<UnixTime>,
);

impl RefreshRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        let (c0, c1, c2, c3, c4, c5, c6, c7) = r.try_into()?;
        Ok(Self(c0, c1, c2, c3, c4, c5, c6, c7))
    }

    fn into_token(self, digest: SecretDigest) -> Result<RefreshToken, StoreError> {
        let RefreshRow(user_id, version, client_id, scope, issued_at, expires_at, family, used_at) =
            self;
        Ok(RefreshToken {
            family: family.unwrap_or_else(|| digest.as_str().to_string()),
            used_at,
            digest,
            user_id: parse_user(&user_id, "refresh token's")?,
            credential_version: CredentialVersion(version as u64),
            client_id,
            scope,
            issued_at,
            expires_at,
        })
    }
}

fn insert_refresh_row(tx: &Connection, r: &RefreshToken) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO refresh_tokens (digest, user_id, credential_version, client_id, scope,
                                     issued_at, expires_at, family, used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.digest.as_str(),
            r.user_id.as_str(),
            r.credential_version.0 as i64,
            r.client_id,
            r.scope,
            r.issued_at,
            r.expires_at,
            r.family,
            r.used_at
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict("refresh token already stored")
        }
        other => other.into(),
    })?;
    Ok(())
}

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
        self.transact(move |tx| {
            redeem(tx, &ch, &redemption)?;
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
        })
        .await
    }

    async fn replace_reset_code(
        &self,
        code: &ResetCode,
        mail: Option<&OutboxItem>,
    ) -> Result<u64, StoreError> {
        let (code, mail) = (code.clone(), mail.cloned());
        self.transact(move |tx| {
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
            if let Some(m) = &mail {
                insert_outbox(tx, m)?;
            }
            Ok(sequence as u64)
        })
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

    async fn claim_code_attempt(
        &self,
        user: &UserId,
        digest: &str,
        max: u32,
    ) -> Result<(), StoreError> {
        let (user, digest) = (user.clone(), digest.to_string());
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
        at: UnixTime,
    ) -> Result<(), StoreError> {
        let (presented, successor) = (presented.clone(), successor.clone());
        self.transact(move |tx| {
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
            insert_refresh_row(tx, &successor)
        })
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
