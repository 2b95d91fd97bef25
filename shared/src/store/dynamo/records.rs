//! The table's items as typed records: one struct per item type, whose
//! serde names are the attribute names, so `serde_dynamo` writes numbers as
//! `N`, strings as `S`, lists as `L`, and leaves absent options absent.
//! Compiled without the SDK too: the send-email stream consumer decodes
//! outbox images through `OutboxRecord`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::keys::Key;
use super::table;
use crate::crypto::SecretDigest;
use crate::domain::{
    ApiKey, AuditEvent, CredentialVersion, EmailAddress, OutboxItem, RefreshToken, ResetCode,
    ResetGrant, Scope, User, UserId,
};
use crate::store::StoreError;

/// How long records outlive their use before TTL deletion (forensics, and
/// so a late stream retry still finds its outbox item).
const GRANT_RETENTION_SECS: i64 = 24 * 3600;
const OUTBOX_RETENTION_SECS: i64 = 14 * 24 * 3600;

/// One type of item. Its `kind` attribute, which every item carries (the
/// stream filter selects on it), is added on the way in and ignored on the
/// way out.
pub trait Record: Serialize + DeserializeOwned {
    const KIND: &'static str;

    fn to_item<I: From<serde_dynamo::Item>>(&self) -> I {
        let mut item: serde_dynamo::Item =
            serde_dynamo::to_item(self).expect("a record serialises");
        item.insert(
            table::KIND_ATTRIBUTE.to_string(),
            serde_dynamo::AttributeValue::S(Self::KIND.to_string()),
        );
        item.into()
    }

    fn from_item<I: Into<serde_dynamo::Item>>(item: I) -> Result<Self, StoreError> {
        serde_dynamo::from_item(item)
            .map_err(|e| StoreError::Corrupt(format!("{} item: {e}", Self::KIND)))
    }
}

/// The digest a key's partition names after `prefix`.
fn digest_in(pk: &str, prefix: &str) -> Result<SecretDigest, StoreError> {
    pk.strip_prefix(prefix)
        .map(|d| SecretDigest::from_hex(d.to_string()))
        .ok_or_else(|| StoreError::Corrupt(format!("{prefix} item {pk:?}")))
}

fn user_id(id: &str, whose: &str) -> Result<UserId, StoreError> {
    UserId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("{whose} user id {id:?}")))
}

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
    pub created_at: i64,
    // Accounts written before sequences and change times existed lack them.
    #[serde(default)]
    pub sequence: u64,
    #[serde(default)]
    pub changed_at: i64,
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
                .ok_or_else(|| StoreError::Corrupt(format!("email of user {id}")))?,
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
    pub created_at: i64,
    #[serde(default)]
    pub revoked: bool,
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
        })
    }
}

#[derive(Serialize, Deserialize)]
pub struct GrantRecord {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub credential_version: u64,
    pub issued_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
    #[serde(default)]
    pub ttl: i64,
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
            ttl: g.expires_at + GRANT_RETENTION_SECS,
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
        })
    }
}

/// What a request for an address without an account writes beside its
/// decoy grant.
#[derive(Serialize, Deserialize)]
pub struct DecoyRecord {
    pub pk: String,
    pub sk: String,
    pub created_at: i64,
    pub ttl: i64,
}

impl Record for DecoyRecord {
    const KIND: &'static str = "decoy";
}

impl From<&ResetGrant> for DecoyRecord {
    fn from(g: &ResetGrant) -> Self {
        let Key { pk, sk } = Key::decoy(&g.digest);
        Self {
            pk,
            sk,
            created_at: g.issued_at,
            ttl: g.expires_at,
        }
    }
}

/// The user's reset code, under the account's partition.
#[derive(Serialize, Deserialize)]
pub struct CodeRecord {
    pub pk: String,
    pub sk: String,
    pub digest: String,
    pub credential_version: u64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub attempts: u32,
    #[serde(default)]
    pub ttl: i64,
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
            ttl: c.expires_at + GRANT_RETENTION_SECS,
        }
    }
}

impl TryFrom<CodeRecord> for ResetCode {
    type Error = StoreError;
    fn try_from(r: CodeRecord) -> Result<Self, StoreError> {
        let id =
            r.pk.strip_prefix("USER#")
                .ok_or_else(|| StoreError::Corrupt(format!("code item {:?}", r.pk)))?;
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
    pub issued_at: i64,
    pub expires_at: i64,
    #[serde(default)]
    pub ttl: i64,
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
        }
    }
}

impl TryFrom<RefreshRecord> for RefreshToken {
    type Error = StoreError;
    fn try_from(r: RefreshRecord) -> Result<Self, StoreError> {
        Ok(RefreshToken {
            digest: digest_in(&r.pk, "REFRESH#")?,
            user_id: user_id(&r.user_id, "refresh token's")?,
            credential_version: CredentialVersion(r.credential_version),
            client_id: r.client_id,
            scope: r.scope,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub struct AuditRecord {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub user_id: String,
    pub action: String,
    pub outcome: String,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub expires_at: i64,
    #[serde(default)]
    pub ttl: i64,
}

impl Record for AuditRecord {
    const KIND: &'static str = "audit";
}

impl From<&AuditEvent> for AuditRecord {
    fn from(e: &AuditEvent) -> Self {
        let Key { pk, sk } = Key::audit(e);
        Self {
            pk,
            sk,
            id: e.id.clone(),
            user_id: e.user_id.as_str().to_string(),
            action: e.action.clone(),
            outcome: e.outcome.clone(),
            at: e.at,
            source_ip: e.source_ip.clone(),
            user_agent: e.user_agent.clone(),
            expires_at: e.expires_at,
            ttl: e.expires_at,
        }
    }
}

impl TryFrom<AuditRecord> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRecord) -> Result<Self, StoreError> {
        Ok(AuditEvent {
            user_id: user_id(&r.user_id, "audit event's")?,
            id: r.id,
            action: r.action,
            outcome: r.outcome,
            at: r.at,
            source_ip: r.source_ip,
            user_agent: r.user_agent,
            expires_at: r.expires_at,
        })
    }
}

/// Sealed mail: read by the store (GetItem, Scan) and, from the table's
/// stream images, by the send-email function.
#[derive(Serialize, Deserialize)]
pub struct OutboxRecord {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub sealed: String,
    pub created_at: i64,
    #[serde(default)]
    pub ttl: i64,
}

impl Record for OutboxRecord {
    const KIND: &'static str = table::OUTBOX_KIND;
}

impl From<&OutboxItem> for OutboxRecord {
    fn from(m: &OutboxItem) -> Self {
        let Key { pk, sk } = Key::outbox(&m.id);
        Self {
            pk,
            sk,
            id: m.id.clone(),
            sealed: m.sealed.clone(),
            created_at: m.created_at,
            ttl: m.created_at + OUTBOX_RETENTION_SECS,
        }
    }
}

impl From<OutboxRecord> for OutboxItem {
    fn from(r: OutboxRecord) -> Self {
        OutboxItem {
            id: r.id,
            sealed: r.sealed,
            created_at: r.created_at,
        }
    }
}

/// What a rate counter's update returns.
#[derive(Deserialize)]
pub struct Hits {
    pub hits: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_dynamo::AttributeValue as A;

    fn s(v: &str) -> A {
        A::S(v.to_string())
    }
    fn n(v: i64) -> A {
        A::N(v.to_string())
    }

    /// The attributes deployed tables hold, to the letter.
    #[test]
    fn a_user_is_the_item_it_always_was() {
        let mut u = User::new(
            UserId::parse("ada-1").unwrap(),
            EmailAddress::parse("ada@example.com").unwrap(),
        );
        u.name = Some("Ada".into());
        u.password_history = vec!["h1".into()];
        let item: serde_dynamo::Item = UserRecord::from(&u).to_item();
        let expected: serde_dynamo::Item = std::collections::HashMap::from([
            ("pk".to_string(), s("USER#ada-1")),
            ("sk".to_string(), s("USER")),
            ("kind".to_string(), s("user")),
            ("id".to_string(), s("ada-1")),
            ("email".to_string(), s("ada@example.com")),
            ("name".to_string(), s("Ada")),
            (
                "credential_version".to_string(),
                A::N(u.credential_version.0.to_string()),
            ),
            ("password_history".to_string(), A::L(vec![s("h1")])),
            ("disabled".to_string(), A::Bool(false)),
            ("created_at".to_string(), n(u.created_at)),
            ("sequence".to_string(), n(0)),
            ("changed_at".to_string(), n(u.changed_at)),
        ])
        .into();
        assert_eq!(item, expected);
        let back = User::try_from(UserRecord::from_item(item).unwrap()).unwrap();
        assert_eq!(back, u);
    }

    #[test]
    fn a_grant_keeps_its_layout_and_leaves_used_at_absent() {
        let g = ResetGrant {
            digest: SecretDigest::from_hex("ab".repeat(32)),
            user_id: UserId::parse("ada-1").unwrap(),
            credential_version: CredentialVersion(3),
            issued_at: 100,
            expires_at: 200,
            used_at: None,
        };
        let item: serde_dynamo::Item = GrantRecord::from(&g).to_item();
        let expected: serde_dynamo::Item = std::collections::HashMap::from([
            ("pk".to_string(), s(&format!("GRANT#{}", "ab".repeat(32)))),
            ("sk".to_string(), s("GRANT")),
            ("kind".to_string(), s("grant")),
            ("user_id".to_string(), s("ada-1")),
            ("credential_version".to_string(), n(3)),
            ("issued_at".to_string(), n(100)),
            ("expires_at".to_string(), n(200)),
            ("ttl".to_string(), n(200 + GRANT_RETENTION_SECS)),
        ])
        .into();
        assert_eq!(item, expected);
        assert_eq!(
            ResetGrant::try_from(GrantRecord::from_item(item).unwrap()).unwrap(),
            g
        );
    }

    #[test]
    fn an_api_key_keeps_its_scopes_as_a_list_of_strings() {
        let k = ApiKey {
            digest: SecretDigest::from_hex("cd".repeat(32)),
            name: "ci".into(),
            scopes: vec![Scope::ResetRequest, Scope::UsersAdmin],
            created_at: 5,
            revoked: false,
        };
        let item: serde_dynamo::Item = ApiKeyRecord::from(&k).to_item();
        assert_eq!(
            item["scopes"],
            A::L(vec![s("reset:request"), s("users:admin")])
        );
        assert_eq!(item["revoked"], A::Bool(false));
        assert_eq!(item["kind"], s("key"));
        assert_eq!(
            ApiKey::try_from(ApiKeyRecord::from_item(item).unwrap()).unwrap(),
            k
        );
    }
}
