//! The rows of `grants` and `refresh_tokens`: how a grant and a refresh
//! token are written and read back.

use rusqlite::{Connection, Row, params};

use crate::crypto::SecretDigest;
use crate::domain::{CredentialVersion, GrantPurpose, RefreshToken, ResetGrant, UnixTime, UserId};
use crate::store::StoreError;

pub(super) fn insert_grant_row(conn: &Connection, g: &ResetGrant) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO grants (digest, user_id, credential_version, issued_at, expires_at, used_at,
                             purpose, origin)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            g.digest,
            g.user_id,
            g.credential_version,
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
pub(super) struct GrantRow(
    String,
    i64,
    UnixTime,
    UnixTime,
    Option<UnixTime>,
    Option<String>,
    Option<String>,
);

impl GrantRow {
    pub(super) fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        let (c0, c1, c2, c3, c4, c5, c6) = r.try_into()?;
        Ok(Self(c0, c1, c2, c3, c4, c5, c6))
    }

    pub(super) fn into_grant(self, digest: SecretDigest) -> Result<ResetGrant, StoreError> {
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
pub(super) struct RefreshRow(
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
    pub(super) fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        let (c0, c1, c2, c3, c4, c5, c6, c7) = r.try_into()?;
        Ok(Self(c0, c1, c2, c3, c4, c5, c6, c7))
    }

    pub(super) fn into_token(self, digest: SecretDigest) -> Result<RefreshToken, StoreError> {
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

pub(super) fn insert_refresh_row(tx: &Connection, r: &RefreshToken) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO refresh_tokens (digest, user_id, credential_version, client_id, scope,
                                     issued_at, expires_at, family, used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.digest,
            r.user_id,
            r.credential_version,
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
