//! The records of accounts and API keys.

use serde::{Deserialize, Serialize};

use super::{Record, digest_in, user_id};
use crate::domain::{
    ApiKey, CredentialVersion, EmailAddress, OrgBinding, Scope, UnixTime, User, UserId,
};
use crate::store::StoreError;
use crate::store::dynamo::keys::Key;

#[derive(Serialize, Deserialize)]
pub struct UserRecord {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    pub credential_version: u64,
    #[serde(default)]
    pub password_history: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
    pub created_at: UnixTime,
    // Accounts written before sequences and change times existed lack them.
    #[serde(default)]
    pub sequence: u64,
    #[serde(default)]
    pub changed_at: UnixTime,
}

impl Record for UserRecord {
    const KIND: &'static str = "user";
}

impl From<&User> for UserRecord {
    fn from(u: &User) -> Self {
        let Key { pk, sk } = Key::user(&u.id);
        Self {
            pk,
            sk,
            id: u.id.as_str().to_string(),
            email: u.email.as_str().to_string(),
            name: u.name.clone(),
            org: u.org.clone(),
            locale: u.locale.clone(),
            password_hash: u.password_hash.clone(),
            credential_version: u.credential_version.0,
            password_history: u.password_history.clone(),
            disabled: u.disabled,
            created_at: u.created_at,
            sequence: u.sequence,
            changed_at: u.changed_at,
        }
    }
}

impl TryFrom<UserRecord> for User {
    type Error = StoreError;
    fn try_from(r: UserRecord) -> Result<Self, StoreError> {
        let id = user_id(&r.id, "account's")?;
        Ok(User {
            email: EmailAddress::parse(&r.email)
                .ok_or_else(|| StoreError::corrupt(format!("email of user {id}")))?,
            id,
            name: r.name,
            org: r.org,
            locale: r.locale,
            password_hash: r.password_hash,
            credential_version: CredentialVersion(r.credential_version),
            password_history: r.password_history,
            disabled: r.disabled,
            created_at: r.created_at,
            sequence: r.sequence,
            changed_at: r.changed_at,
        })
    }
}

/// An address's owner: the item that keeps addresses unique.
#[derive(Serialize, Deserialize)]
pub struct EmailRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
}

impl Record for EmailRecord {
    const KIND: &'static str = "email";
}

impl From<&User> for EmailRecord {
    fn from(u: &User) -> Self {
        let Key { pk, sk } = Key::email(&u.email);
        Self {
            pk,
            sk,
            user_id: u.id.as_str().to_string(),
        }
    }
}

impl TryFrom<EmailRecord> for UserId {
    type Error = StoreError;
    fn try_from(r: EmailRecord) -> Result<Self, StoreError> {
        user_id(&r.user_id, "email owner's")
    }
}

#[derive(Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub pk: String,
    pub sk: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: UnixTime,
    #[serde(default)]
    pub revoked: bool,
    /// The organisation the key acts for, `*` for all; absent on keys
    /// stored before keys had one (they read as the default organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

impl Record for ApiKeyRecord {
    const KIND: &'static str = "key";
}

impl From<&ApiKey> for ApiKeyRecord {
    fn from(k: &ApiKey) -> Self {
        let Key { pk, sk } = Key::api_key(&k.digest);
        Self {
            pk,
            sk,
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            created_at: k.created_at,
            revoked: k.revoked,
            org: k.org.stored().map(str::to_string),
        }
    }
}

impl TryFrom<ApiKeyRecord> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRecord) -> Result<Self, StoreError> {
        Ok(ApiKey {
            digest: digest_in(&r.pk, "KEY#")?,
            name: r.name,
            scopes: r.scopes,
            created_at: r.created_at,
            revoked: r.revoked,
            org: OrgBinding::from_stored(r.org.as_deref()),
        })
    }
}
