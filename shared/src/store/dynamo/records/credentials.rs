//! The records of grants, reset codes and refresh tokens.

use serde::{Deserialize, Serialize};

use super::{GRANT_RETENTION, Record, digest_in, user_id};
use crate::domain::{
    CredentialVersion, GrantPurpose, RefreshToken, ResetCode, ResetGrant, UnixTime,
};
use crate::store::StoreError;
use crate::store::dynamo::keys::Key;

#[derive(Serialize, Deserialize)]
pub struct GrantRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub credential_version: u64,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<UnixTime>,
    #[serde(default)]
    pub ttl: UnixTime,
    /// Absent on grants written before grants had a purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The origin the grant's link points at; absent on grants written
    /// before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Record for GrantRecord {
    const KIND: &'static str = "grant";
}

impl From<&ResetGrant> for GrantRecord {
    fn from(g: &ResetGrant) -> Self {
        let Key { pk, sk } = Key::grant(&g.digest);
        Self {
            pk,
            sk,
            user_id: g.user_id.as_str().to_string(),
            credential_version: g.credential_version.0,
            issued_at: g.issued_at,
            expires_at: g.expires_at,
            used_at: g.used_at,
            ttl: g.expires_at.plus(GRANT_RETENTION),
            purpose: g.purpose.map(|p| p.as_str().to_string()),
            origin: g.origin.clone(),
        }
    }
}

impl TryFrom<GrantRecord> for ResetGrant {
    type Error = StoreError;
    fn try_from(r: GrantRecord) -> Result<Self, StoreError> {
        Ok(ResetGrant {
            digest: digest_in(&r.pk, "GRANT#")?,
            user_id: user_id(&r.user_id, "grant's")?,
            credential_version: CredentialVersion(r.credential_version),
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
            purpose: r
                .purpose
                .as_deref()
                .map(|p| {
                    GrantPurpose::parse(p)
                        .ok_or_else(|| StoreError::corrupt(format!("grant purpose {p:?}")))
                })
                .transpose()?,
            origin: r.origin,
        })
    }
}

/// The user's reset code, under the account's partition.
#[derive(Serialize, Deserialize)]
pub struct CodeRecord {
    pub pk: String,
    pub sk: String,
    pub digest: String,
    pub credential_version: u64,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub attempts: u32,
    #[serde(default)]
    pub ttl: UnixTime,
}

impl Record for CodeRecord {
    const KIND: &'static str = "code";
}

impl From<&ResetCode> for CodeRecord {
    fn from(c: &ResetCode) -> Self {
        let Key { pk, sk } = Key::code(&c.user_id);
        Self {
            pk,
            sk,
            digest: c.digest.clone(),
            credential_version: c.credential_version.0,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            attempts: c.attempts,
            ttl: c.expires_at.plus(GRANT_RETENTION),
        }
    }
}

impl TryFrom<CodeRecord> for ResetCode {
    type Error = StoreError;
    fn try_from(r: CodeRecord) -> Result<Self, StoreError> {
        let id =
            r.pk.strip_prefix("USER#")
                .ok_or_else(|| StoreError::corrupt(format!("code item {:?}", r.pk)))?;
        Ok(ResetCode {
            user_id: user_id(id, "code's")?,
            digest: r.digest,
            credential_version: CredentialVersion(r.credential_version),
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            attempts: r.attempts,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub struct RefreshRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub credential_version: u64,
    pub client_id: String,
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    #[serde(default)]
    pub ttl: UnixTime,
    /// Absent on tokens written before families: each is its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<UnixTime>,
}

impl Record for RefreshRecord {
    const KIND: &'static str = "refresh";
}

impl From<&RefreshToken> for RefreshRecord {
    fn from(r: &RefreshToken) -> Self {
        let Key { pk, sk } = Key::refresh(&r.digest);
        Self {
            pk,
            sk,
            user_id: r.user_id.as_str().to_string(),
            credential_version: r.credential_version.0,
            client_id: r.client_id.clone(),
            scope: r.scope.clone(),
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            ttl: r.expires_at,
            family: Some(r.family.clone()),
            used_at: r.used_at,
        }
    }
}

impl TryFrom<RefreshRecord> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: RefreshRecord) -> Result<Self, StoreError> {
        let digest = digest_in(&r.pk, "REFRESH#")?;
        Ok(RefreshToken {
            family: r.family.unwrap_or_else(|| digest.as_str().to_string()),
            used_at: r.used_at,
            digest,
            user_id: user_id(&r.user_id, "refresh token's")?,
            credential_version: CredentialVersion(r.credential_version),
            client_id: r.client_id,
            scope: r.scope,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
        })
    }
}

/// A refresh-token family's state: present once a member was rotated or
/// the family revoked; `revoked_at` refuses every member's rotation.
#[derive(Serialize, Deserialize)]
pub struct FamilyRecord {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<UnixTime>,
    #[serde(default)]
    pub ttl: UnixTime,
}

impl Record for FamilyRecord {
    const KIND: &'static str = "refresh_family";
}
