//! Accounts and API keys in SQLite.

use async_trait::async_trait;
use rusqlite::{Connection, Row, params};

use super::{EmbeddedStore, corrupt_json, one_row, row_by_key};
use crate::crypto::SecretDigest;
use crate::domain::{
    ApiKey, ChangeClaim, CredentialVersion, EmailAddress, OrgBinding, OutboxItem, Scope, UnixTime,
    User, UserId,
};
use crate::store::{AccountStore, ApiKeyStore, StoreError};

const USER_COLUMNS: &str = "id, email, name, org, locale, password_hash, credential_version, \
     password_history, disabled, created_at, sequence, changed_at";

/// A `users` row as SQLite holds it (in `USER_COLUMNS` order).
struct UserRow {
    id: String,
    email: String,
    name: Option<String>,
    org: Option<String>,
    locale: Option<String>,
    password_hash: Option<String>,
    credential_version: i64,
    /// JSON list of hashes.
    password_history: String,
    disabled: i64,
    created_at: UnixTime,
    sequence: i64,
    changed_at: UnixTime,
}

impl UserRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(read_columns!(
            r,
            UserRow {
                id,
                email,
                name,
                org,
                locale,
                password_hash,
                credential_version,
                password_history,
                disabled,
                created_at,
                sequence,
                changed_at
            }
        ))
    }
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        let id = r.id;
        Ok(User {
            email: EmailAddress::parse(&r.email)
                .ok_or_else(|| StoreError::corrupt(format!("email of user {id}")))?,
            password_history: serde_json::from_str(&r.password_history)
                .map_err(corrupt_json(&format!("history of user {id}")))?,
            id: UserId::parse(&id).ok_or_else(|| StoreError::corrupt(format!("user id {id:?}")))?,
            name: r.name,
            org: r.org,
            locale: r.locale,
            password_hash: r.password_hash,
            credential_version: CredentialVersion(r.credential_version as u64),
            disabled: r.disabled != 0,
            created_at: r.created_at,
            sequence: r.sequence as u64,
            changed_at: r.changed_at,
        })
    }
}

/// An `api_keys` row: digest, name, scopes (JSON), created_at, revoked,
/// org (NULL for the default organisation, `*` for all).
struct ApiKeyRow(String, String, String, UnixTime, i64, Option<String>);

const API_KEY_COLUMNS: &str = "digest, name, scopes, created_at, revoked, org";

impl ApiKeyRow {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        let (c0, c1, c2, c3, c4, c5) = r.try_into()?;
        Ok(Self(c0, c1, c2, c3, c4, c5))
    }
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(
        ApiKeyRow(digest, name, scopes, created_at, revoked, org): ApiKeyRow,
    ) -> Result<Self, StoreError> {
        Ok(ApiKey {
            digest: SecretDigest::from_hex(digest),
            name,
            scopes: serde_json::from_str::<Vec<Scope>>(&scopes)
                .map_err(corrupt_json("scopes of a key"))?,
            created_at,
            revoked: revoked != 0,
            org: OrgBinding::from_stored(org.as_deref()),
        })
    }
}

fn query_user(conn: &Connection, clause: &str, key: &str) -> Result<Option<User>, StoreError> {
    row_by_key(
        conn,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}"),
        key,
        UserRow::read,
        User::try_from,
    )
}

#[async_trait]
impl AccountStore for EmbeddedStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let u = user.clone();
        self.run(move |c| {
            let history = super::json_column(&u.password_history)?;
            c.execute(
                &format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ),
                params![
                    u.id.as_str(),
                    u.email.as_str(),
                    u.name,
                    u.org,
                    u.locale,
                    u.password_hash,
                    u.credential_version.0 as i64,
                    history,
                    u.disabled as i64,
                    u.created_at,
                    u.sequence as i64,
                    u.changed_at
                ],
            )
            .map_err(|e| StoreError::from(e).conflict_as("a user with that id or email exists"))?;
            Ok(())
        })
        .await
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let id = id.as_str().to_string();
        self.run(move |c| query_user(c, "id = ?1", &id)).await
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_string();
        self.run(move |c| query_user(c, "email = ?1", &email)).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.run(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"
            ))?;
            let rows = stmt.query_map([], UserRow::read)?;
            rows.map(|r| User::try_from(r?)).collect()
        })
        .await
    }

    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<(), StoreError> {
        let id = id.as_str().to_string();
        self.run(move |c| {
            let changed = c.execute(
                "UPDATE users SET disabled = ?1, credential_version = credential_version + ?1
                 WHERE id = ?2",
                params![disabled as i64, id],
            )?;
            one_row(changed, "no such user")
        })
        .await
    }

    async fn disable_user(&self, id: &UserId, notices: &[OutboxItem]) -> Result<(), StoreError> {
        let (id, notices) = (id.as_str().to_string(), notices.to_vec());
        self.transact(move |tx| {
            let changed = tx.execute(
                "UPDATE users SET disabled = 1, credential_version = credential_version + 1
                 WHERE id = ?1 AND disabled = 0",
                params![id],
            )?;
            one_row(changed, "no such enabled user")?;
            for notice in &notices {
                super::journal::insert_outbox(tx, notice)?;
            }
            Ok(())
        })
        .await
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<(), StoreError> {
        let (id, expected, new_hash) = (
            id.as_str().to_string(),
            expected.to_string(),
            new_hash.to_string(),
        );
        self.run(move |c| {
            let changed = c.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
                params![new_hash, id, expected],
            )?;
            one_row(changed, "password hash changed meanwhile")
        })
        .await
    }

    async fn claim_password_change(&self, claim: &ChangeClaim) -> Result<(), StoreError> {
        let ChangeClaim {
            user_id,
            expected,
            holder,
            at,
            until,
        } = claim.clone();
        self.run(move |c| {
            let changed = c.execute(
                "UPDATE users SET change_holder = ?1, change_until = ?2, change_version = ?3
                 WHERE id = ?4 AND credential_version = ?3
                   AND (change_until IS NULL OR change_until <= ?5
                        OR change_version <> ?3 OR change_holder = ?1)",
                params![holder, until, expected.0 as i64, user_id.as_str(), at],
            )?;
            one_row(changed, "password change claimed or credential moved")
        })
        .await
    }

    async fn release_password_change(&self, id: &UserId, holder: &str) -> Result<(), StoreError> {
        let (id, holder) = (id.as_str().to_string(), holder.to_string());
        self.run(move |c| {
            let changed = c.execute(
                "UPDATE users SET change_holder = NULL, change_until = NULL, change_version = NULL
                 WHERE id = ?1 AND change_holder = ?2",
                params![id, holder],
            )?;
            one_row(changed, "claim no longer held")
        })
        .await
    }
}

#[async_trait]
impl ApiKeyStore for EmbeddedStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let k = key.clone();
        self.run(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ),
                params![
                    k.digest.as_str(),
                    k.name,
                    super::json_column(&k.scopes)?,
                    k.created_at,
                    k.revoked as i64,
                    k.org.stored()
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError> {
        let d = digest.as_str().to_string();
        self.run(move |c| {
            row_by_key(
                c,
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE digest = ?1"),
                &d,
                ApiKeyRow::read,
                ApiKey::try_from,
            )
        })
        .await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.run(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, digest"
            ))?;
            let rows = stmt.query_map([], ApiKeyRow::read)?;
            rows.map(|r| ApiKey::try_from(r?)).collect()
        })
        .await
    }

    async fn revoke_api_key(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        let d = digest.as_str().to_string();
        self.run(move |c| {
            let changed = c.execute("UPDATE api_keys SET revoked = 1 WHERE digest = ?1", [d])?;
            one_row(changed, "no such key")
        })
        .await
    }
}
