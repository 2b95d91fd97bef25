//! The DynamoDB store: one table, `pk`/`sk` keys, a `ttl` attribute, and a
//! NEW_IMAGE stream whose outbox items feed the send-email function.
//!
//! Items (pk / sk):
//! - `USER#<id>` / `USER`: the account
//! - `EMAIL#<address>` / `EMAIL`: the address's owner, kept unique by transaction
//! - `KEY#<sha256>` / `KEY`: an API key's digest and scopes
//! - `USER#<id>` / `CODE`: the user's reset code (keyed digest), beside the account
//! - `GRANT#<sha256>` / `GRANT`: a reset grant, keyed by its token's digest
//! - `REFRESH#<sha256>` / `REFRESH`: a refresh token issued at log-in
//! - `OUTBOX#<uuid>` / `OUTBOX`: sealed mail, deleted once sent
//! - `RATE#<key>` / `<window start>`: a rate-limit counter, expiring by TTL
//! - `AUDIT#<user id>` / `<time>#<uuid>`: an audit event, expiring by TTL
//! - `DECOY#<sha256>` / `DECOY`: the write an unknown address costs, expiring by TTL

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
    TransactWriteItem, Update,
};

use super::{Store, StoreError};
use crate::config::{ConfigError, EnvReader};
use crate::crypto::SecretDigest;
use crate::domain::{
    ApiKey, AuditEvent, CredentialVersion, EmailAddress, OutboxItem, PasswordChange, Redemption,
    RefreshToken, ResetCode, ResetGrant, Scope, User, UserId,
};

type Item = HashMap<String, AttributeValue>;

/// How long records outlive their use before TTL deletion (forensics, and
/// so a late stream retry still finds its outbox item).
const GRANT_RETENTION_SECS: i64 = 24 * 3600;
const OUTBOX_RETENTION_SECS: i64 = 14 * 24 * 3600;
/// Attempts at a transaction that DynamoDB cancelled only because another
/// transaction touched the same items.
const TRANSACTION_ATTEMPTS: u32 = 4;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// The table's definition, shared by `rekeyctl table create`, the tests and
/// (checked by a test) template.yaml.
pub mod table {
    pub const PARTITION_KEY: &str = "pk";
    pub const SORT_KEY: &str = "sk";
    pub const TTL_ATTRIBUTE: &str = "ttl";
    /// Every item's type; the stream filter selects `kind = outbox`.
    pub const KIND_ATTRIBUTE: &str = "kind";
    pub use crate::store::OUTBOX_KIND;
}

fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::Conflict("condition failed"),
        _ => StoreError::Unavailable(DisplayErrorContext(&e).to_string()),
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a Item, k: &str) -> Result<&'a str, StoreError> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Corrupt(format!("attribute {k} missing or not a string")))
}
fn opt_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}
fn get_n(item: &Item, k: &str) -> Result<i64, StoreError> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("attribute {k} missing or not a number")))
}
fn opt_n(item: &Item, k: &str) -> Option<i64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}
fn get_list(item: &Item, k: &str) -> Vec<String> {
    item.get(k)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}
fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.clone())).collect())
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (table::PARTITION_KEY.to_string(), s(pk)),
        (table::SORT_KEY.to_string(), s(sk)),
    ])
}

fn user_key(id: &UserId) -> Item {
    key(format!("USER#{id}"), "USER")
}
fn email_key(email: &EmailAddress) -> Item {
    key(format!("EMAIL#{}", email.as_str()), "EMAIL")
}
fn api_key_key(d: &SecretDigest) -> Item {
    key(format!("KEY#{}", d.as_str()), "KEY")
}
fn grant_key(d: &SecretDigest) -> Item {
    key(format!("GRANT#{}", d.as_str()), "GRANT")
}
fn code_key(user: &UserId) -> Item {
    key(format!("USER#{user}"), "CODE")
}
fn refresh_key(d: &SecretDigest) -> Item {
    key(format!("REFRESH#{}", d.as_str()), "REFRESH")
}
fn outbox_key(id: &str) -> Item {
    key(format!("OUTBOX#{id}"), "OUTBOX")
}

fn with(
    mut item: Item,
    attrs: impl IntoIterator<Item = (&'static str, Option<AttributeValue>)>,
) -> Item {
    for (k, v) in attrs {
        if let Some(v) = v {
            item.insert(k.to_string(), v);
        }
    }
    item
}

fn user_item(u: &User) -> Item {
    with(
        user_key(&u.id),
        [
            (table::KIND_ATTRIBUTE, Some(s("user"))),
            ("id", Some(s(u.id.as_str()))),
            ("email", Some(s(u.email.as_str()))),
            ("name", u.name.clone().map(s)),
            ("org", u.org.clone().map(s)),
            ("locale", u.locale.clone().map(s)),
            ("password_hash", u.password_hash.clone().map(s)),
            ("credential_version", Some(n(u.credential_version.0))),
            ("password_history", Some(list(&u.password_history))),
            ("disabled", Some(AttributeValue::Bool(u.disabled))),
            ("created_at", Some(n(u.created_at))),
            ("sequence", Some(n(u.sequence))),
            ("changed_at", Some(n(u.changed_at))),
        ],
    )
}

fn user_from(item: &Item) -> Result<User, StoreError> {
    let id = get_s(item, "id")?;
    Ok(User {
        id: UserId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("user id {id:?}")))?,
        email: EmailAddress::parse(get_s(item, "email")?)
            .ok_or_else(|| StoreError::Corrupt(format!("email of user {id}")))?,
        name: opt_s(item, "name"),
        org: opt_s(item, "org"),
        locale: opt_s(item, "locale"),
        password_hash: opt_s(item, "password_hash"),
        credential_version: CredentialVersion(get_n(item, "credential_version")? as u64),
        password_history: get_list(item, "password_history"),
        disabled: item
            .get("disabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        created_at: get_n(item, "created_at")?,
        sequence: opt_n(item, "sequence").unwrap_or(0) as u64,
        changed_at: opt_n(item, "changed_at").unwrap_or(0),
    })
}

fn api_key_from(digest: SecretDigest, item: &Item) -> Result<ApiKey, StoreError> {
    let scopes = get_list(item, "scopes")
        .iter()
        .map(|s| s.parse::<Scope>().map_err(StoreError::Corrupt))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiKey {
        digest,
        name: get_s(item, "name")?.to_string(),
        scopes,
        created_at: get_n(item, "created_at")?,
        revoked: item
            .get("revoked")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
    })
}

fn audit_item(e: &AuditEvent) -> Item {
    with(
        key(
            format!("AUDIT#{}", e.user_id),
            &format!("{:012}#{}", e.at, e.id),
        ),
        [
            (table::KIND_ATTRIBUTE, Some(s("audit"))),
            ("id", Some(s(e.id.clone()))),
            ("user_id", Some(s(e.user_id.as_str()))),
            ("action", Some(s(e.action.clone()))),
            ("outcome", Some(s(e.outcome.clone()))),
            ("at", Some(n(e.at))),
            ("source_ip", e.source_ip.clone().map(s)),
            ("user_agent", e.user_agent.clone().map(s)),
            ("expires_at", Some(n(e.expires_at))),
            (table::TTL_ATTRIBUTE, Some(n(e.expires_at))),
        ],
    )
}

fn audit_from(item: &Item) -> Result<AuditEvent, StoreError> {
    let user_id = get_s(item, "user_id")?;
    Ok(AuditEvent {
        id: get_s(item, "id")?.to_string(),
        user_id: UserId::parse(user_id)
            .ok_or_else(|| StoreError::Corrupt("audit event's user id".into()))?,
        action: get_s(item, "action")?.to_string(),
        outcome: get_s(item, "outcome")?.to_string(),
        at: get_n(item, "at")?,
        source_ip: opt_s(item, "source_ip"),
        user_agent: opt_s(item, "user_agent"),
        expires_at: get_n(item, "expires_at")?,
    })
}

fn grant_item(g: &ResetGrant) -> Item {
    with(
        grant_key(&g.digest),
        [
            (table::KIND_ATTRIBUTE, Some(s("grant"))),
            ("user_id", Some(s(g.user_id.as_str()))),
            ("credential_version", Some(n(g.credential_version.0))),
            ("issued_at", Some(n(g.issued_at))),
            ("expires_at", Some(n(g.expires_at))),
            ("used_at", g.used_at.map(n)),
            (
                table::TTL_ATTRIBUTE,
                Some(n(g.expires_at + GRANT_RETENTION_SECS)),
            ),
        ],
    )
}

fn outbox_item(m: &OutboxItem) -> Item {
    with(
        outbox_key(&m.id),
        [
            (table::KIND_ATTRIBUTE, Some(s(table::OUTBOX_KIND))),
            ("id", Some(s(m.id.clone()))),
            ("sealed", Some(s(m.sealed.clone()))),
            ("created_at", Some(n(m.created_at))),
            (
                table::TTL_ATTRIBUTE,
                Some(n(m.created_at + OUTBOX_RETENTION_SECS)),
            ),
        ],
    )
}

/// Decodes an outbox item, from a GetItem/Scan or a stream record's image.
pub fn outbox_from(item: &Item) -> Result<OutboxItem, StoreError> {
    Ok(OutboxItem {
        id: get_s(item, "id")?.to_string(),
        sealed: get_s(item, "sealed")?.to_string(),
        created_at: get_n(item, "created_at")?,
    })
}

fn put(table: &str, item: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .build()
                .expect("table and item are set"),
        )
        .build()
}

fn put_new(table: &str, item: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("table and item are set"),
        )
        .build()
}

/// Why DynamoDB cancelled a transaction.
enum Cancelled {
    /// A condition of ours failed: the domain's conflict.
    Condition,
    /// Another transaction touched the same items: worth retrying.
    Contention,
    /// Throttling, validation, capacity: the store refuses service, which
    /// callers must not mistake for a used or invalid credential.
    Refused(String),
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// What a Lambda builds at init: reads `REKEY_TABLE`, and region,
    /// credentials and `AWS_ENDPOINT_URL[_DYNAMODB]` from the environment
    /// only (`aws::environment_sdk_config`).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let mut env = EnvReader::process();
        let table = env.required(
            "REKEY_TABLE",
            "the DynamoDB table name (template output TableName)",
        );
        env.finish()?;
        let sdk = crate::aws::environment_sdk_config("DYNAMODB");
        Ok(Self::new(Client::new(&sdk), table.expect("checked")))
    }

    /// A client for `table` configured by the SDK's default chain
    /// (profiles, SSO): for rekeyctl on an operator's machine.
    pub async fn connect(table: &str) -> Self {
        Self::new(Client::new(&crate::aws::sdk_config().await), table)
    }

    /// As `connect`, with the patience of an operator's command rather
    /// than a request path's: attempts of up to 20 s, 60 s in all.
    pub async fn connect_for_operator(table: &str) -> Self {
        let sdk = crate::aws::sdk_config().await;
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        Self::new(Client::from_conf(config), table)
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Creates the table as template.yaml defines it, waits until it is
    /// active, and turns on TTL.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use table::*;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PARTITION_KEY))
            .attribute_definitions(attr(SORT_KEY))
            .key_schema(key_schema(PARTITION_KEY, KeyType::Hash))
            .key_schema(key_schema(SORT_KEY, KeyType::Range))
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .expect("stream_enabled is set"),
            )
            // An operator's one-off call, not a request path: a local
            // endpoint under load may take seconds, and a retry after a
            // timeout would only find the table "in use".
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default().timeout_config(
                    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                        .operation_attempt_timeout(Duration::from_secs(60))
                        .operation_timeout(Duration::from_secs(60))
                        .build(),
                ),
            )
            .send()
            .await
            .map_err(classify)?;
        for _ in 0..120 {
            let status = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(classify)?
                .table
                .and_then(|t| t.table_status);
            if status == Some(aws_sdk_dynamodb::types::TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .expect("fields are set"),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?
            .item)
    }

    async fn scan_kind(&self, kind: &str, limit: Option<usize>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#k = :k")
                .expression_attribute_names("#k", table::KIND_ATTRIBUTE)
                .expression_attribute_values(":k", s(kind))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|l| items.len() >= l) {
                return Ok(items);
            }
        }
    }

    /// Runs a transaction, retrying when it lost only to contention.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(e) = result else { return Ok(()) };
            let cancelled = e.as_service_error().and_then(|se| match se {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                    let codes: Vec<&str> = c
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .collect();
                    let causes: Vec<&str> = codes.iter().copied().filter(|c| *c != "None").collect();
                    Some(if causes.contains(&"ConditionalCheckFailed") {
                        Cancelled::Condition
                    } else if !causes.is_empty() && causes.iter().all(|c| *c == "TransactionConflict") {
                        Cancelled::Contention
                    } else {
                        Cancelled::Refused(format!("transaction cancelled: {causes:?}"))
                    })
                }
                _ => None,
            });
            match cancelled {
                Some(Cancelled::Condition) => return Err(StoreError::Conflict("condition failed")),
                Some(Cancelled::Contention) if attempt < TRANSACTION_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                Some(Cancelled::Contention) => {
                    return Err(StoreError::Unavailable(
                        "transaction contention persisted through retries".into(),
                    ));
                }
                Some(Cancelled::Refused(why)) => return Err(StoreError::Unavailable(why)),
                None => return Err(classify(e)),
            }
        }
    }
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("fields are set")
}

fn key_schema(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("fields are set")
}

#[async_trait]
impl Store for DynamoStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let email = with(
            email_key(&user.email),
            [
                (table::KIND_ATTRIBUTE, Some(s("email"))),
                ("user_id", Some(s(user.id.as_str()))),
            ],
        );
        self.transact(vec![
            put_new(&self.table, user_item(user)),
            put_new(&self.table, email),
        ])
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("a user with that id or email exists"),
            other => other,
        })
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get(user_key(id))
            .await?
            .as_ref()
            .map(user_from)
            .transpose()
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let Some(owner) = self.get(email_key(email)).await? else {
            // The second read a known address costs, of an account that
            // does not exist: the lookup takes the same time either way.
            let _ = self.get(user_key(&UserId::generate())).await?;
            return Ok(None);
        };
        let id = get_s(&owner, "user_id")?;
        let id =
            UserId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("email owner {id:?}")))?;
        self.user(&id).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let mut users = self
            .scan_kind("user", None)
            .await?
            .iter()
            .map(user_from)
            .collect::<Result<Vec<_>, _>>()?;
        users.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(users)
    }

    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(id)))
            .update_expression("SET disabled = :d ADD credential_version :bump")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":d", AttributeValue::Bool(disabled))
            .expression_attribute_values(":bump", n(u64::from(disabled)))
            .send()
            .await
            .map_err(classify)
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict("no such user"),
                other => other,
            })?;
        Ok(())
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(id)))
            .update_expression("SET password_hash = :new")
            .condition_expression("attribute_exists(pk) AND password_hash = :expected")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":expected", s(expected))
            .send()
            .await
            .map_err(classify)
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict("password hash changed meanwhile"),
                other => other,
            })?;
        Ok(())
    }

    async fn insert_api_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let item = with(
            api_key_key(&k.digest),
            [
                (table::KIND_ATTRIBUTE, Some(s("key"))),
                ("name", Some(s(k.name.clone()))),
                (
                    "scopes",
                    Some(list(
                        &k.scopes
                            .iter()
                            .map(|s| s.as_str().to_string())
                            .collect::<Vec<_>>(),
                    )),
                ),
                ("created_at", Some(n(k.created_at))),
                ("revoked", Some(AttributeValue::Bool(k.revoked))),
            ],
        );
        self.transact(vec![put_new(&self.table, item)]).await
    }

    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError> {
        let Some(item) = self.get(api_key_key(digest)).await? else {
            return Ok(None);
        };
        api_key_from(digest.clone(), &item).map(Some)
    }

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let mut keys = self
            .scan_kind("key", None)
            .await?
            .iter()
            .map(|item| {
                let pk = get_s(item, table::PARTITION_KEY)?;
                let digest = pk
                    .strip_prefix("KEY#")
                    .ok_or_else(|| StoreError::Corrupt(format!("key item {pk:?}")))?;
                api_key_from(SecretDigest::from_hex(digest.to_string()), item)
            })
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| {
            (a.created_at, a.digest.as_str()).cmp(&(b.created_at, b.digest.as_str()))
        });
        Ok(keys)
    }

    async fn revoke_api_key(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(api_key_key(digest)))
            .update_expression("SET revoked = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(classify)
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict("no such key"),
                other => other,
            })?;
        Ok(())
    }

    async fn insert_grant(&self, g: &ResetGrant, mail: &OutboxItem) -> Result<(), StoreError> {
        let item = grant_item(g);
        self.transact(vec![
            put_new(&self.table, item),
            put_new(&self.table, outbox_item(mail)),
        ])
        .await
    }

    async fn grant(&self, digest: &SecretDigest) -> Result<Option<ResetGrant>, StoreError> {
        let Some(item) = self.get(grant_key(digest)).await? else {
            return Ok(None);
        };
        let user_id = get_s(&item, "user_id")?;
        Ok(Some(ResetGrant {
            digest: digest.clone(),
            user_id: UserId::parse(user_id)
                .ok_or_else(|| StoreError::Corrupt("grant's user id".into()))?,
            credential_version: CredentialVersion(get_n(&item, "credential_version")? as u64),
            issued_at: get_n(&item, "issued_at")?,
            expires_at: get_n(&item, "expires_at")?,
            used_at: opt_n(&item, "used_at"),
        }))
    }

    async fn change_password(
        &self,
        ch: &PasswordChange,
        redemption: &Redemption,
    ) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(4);
        match redemption {
            Redemption::Grant(digest) => items.push(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(grant_key(digest)))
                            .update_expression("SET used_at = :now")
                            .condition_expression(
                                "attribute_exists(pk) AND attribute_not_exists(used_at) \
                                 AND expires_at > :now AND user_id = :user",
                            )
                            .expression_attribute_values(":now", n(ch.changed_at))
                            .expression_attribute_values(":user", s(ch.user_id.as_str()))
                            .build()
                            .expect("fields are set"),
                    )
                    .build(),
            ),
            Redemption::Code { issued_at } => items.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(code_key(&ch.user_id)))
                            .condition_expression("issued_at = :issued")
                            .expression_attribute_values(":issued", n(issued_at))
                            .build()
                            .expect("fields are set"),
                    )
                    .build(),
            ),
            Redemption::Nothing => {}
        }
        items.push(
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(user_key(&ch.user_id)))
                        .update_expression(
                            "SET password_hash = :h, password_history = :hist, credential_version = :next, \
                             #seq = if_not_exists(#seq, :zero) + :one, changed_at = :now",
                        )
                        .condition_expression("credential_version = :expected")
                        .expression_attribute_names("#seq", "sequence")
                        .expression_attribute_values(":h", s(ch.new_hash.clone()))
                        .expression_attribute_values(":hist", list(&ch.history))
                        .expression_attribute_values(":next", n(ch.expected.next().0))
                        .expression_attribute_values(":expected", n(ch.expected.0))
                        .expression_attribute_values(":zero", n(0))
                        .expression_attribute_values(":one", n(1))
                        .expression_attribute_values(":now", n(ch.changed_at))
                        .build()
                        .expect("fields are set"),
                )
                .build(),
        );
        items.push(put_new(&self.table, outbox_item(&ch.notice)));
        items.push(put_new(&self.table, audit_item(&ch.audit)));
        if let Some(r) = &ch.session {
            items.push(put_new(
                &self.table,
                with(
                    refresh_key(&r.digest),
                    [
                        (table::KIND_ATTRIBUTE, Some(s("refresh"))),
                        ("user_id", Some(s(r.user_id.as_str()))),
                        ("credential_version", Some(n(r.credential_version.0))),
                        ("client_id", Some(s(r.client_id.clone()))),
                        ("scope", Some(s(r.scope.clone()))),
                        ("issued_at", Some(n(r.issued_at))),
                        ("expires_at", Some(n(r.expires_at))),
                        (table::TTL_ATTRIBUTE, Some(n(r.expires_at))),
                    ],
                ),
            ));
        }
        self.transact(items).await
    }

    async fn replace_reset_code(
        &self,
        code: &ResetCode,
        mail: Option<&OutboxItem>,
    ) -> Result<u64, StoreError> {
        let item = with(
            code_key(&code.user_id),
            [
                (table::KIND_ATTRIBUTE, Some(s("code"))),
                ("digest", Some(s(code.digest.clone()))),
                ("credential_version", Some(n(code.credential_version.0))),
                ("issued_at", Some(n(code.issued_at))),
                ("expires_at", Some(n(code.expires_at))),
                ("attempts", Some(n(code.attempts))),
                (
                    table::TTL_ATTRIBUTE,
                    Some(n(code.expires_at + GRANT_RETENTION_SECS)),
                ),
            ],
        );
        let bump = Update::builder()
            .table_name(&self.table)
            .set_key(Some(user_key(&code.user_id)))
            .update_expression("SET #seq = if_not_exists(#seq, :zero) + :one, changed_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#seq", "sequence")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(code.issued_at))
            .build()
            .expect("fields are set");
        let mut items = vec![
            put(&self.table, item),
            TransactWriteItem::builder().update(bump).build(),
        ];
        if let Some(m) = mail {
            items.push(put_new(&self.table, outbox_item(m)));
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
        let Some(item) = self.get(code_key(user)).await? else {
            return Ok(None);
        };
        Ok(Some(ResetCode {
            user_id: user.clone(),
            digest: get_s(&item, "digest")?.to_string(),
            credential_version: CredentialVersion(get_n(&item, "credential_version")? as u64),
            issued_at: get_n(&item, "issued_at")?,
            expires_at: get_n(&item, "expires_at")?,
            attempts: get_n(&item, "attempts")? as u32,
        }))
    }

    async fn claim_code_attempt(
        &self,
        user: &UserId,
        issued_at: i64,
        max: u32,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(code_key(user)))
            .update_expression("SET attempts = attempts + :one")
            .condition_expression("issued_at = :issued AND attempts < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":issued", n(issued_at))
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
        let Some(item) = self.get(refresh_key(digest)).await? else {
            return Ok(None);
        };
        let user_id = get_s(&item, "user_id")?;
        Ok(Some(RefreshToken {
            digest: digest.clone(),
            user_id: UserId::parse(user_id)
                .ok_or_else(|| StoreError::Corrupt("refresh token's user id".into()))?,
            credential_version: CredentialVersion(get_n(&item, "credential_version")? as u64),
            client_id: get_s(&item, "client_id")?.to_string(),
            scope: get_s(&item, "scope")?.to_string(),
            issued_at: get_n(&item, "issued_at")?,
            expires_at: get_n(&item, "expires_at")?,
        }))
    }

    async fn insert_decoy(&self, grant: &ResetGrant) -> Result<(), StoreError> {
        let decoy = with(
            key(format!("DECOY#{}", grant.digest.as_str()), "DECOY"),
            [
                (table::KIND_ATTRIBUTE, Some(s("decoy"))),
                ("created_at", Some(n(grant.issued_at))),
                (table::TTL_ATTRIBUTE, Some(n(grant.expires_at))),
            ],
        );
        self.transact(vec![
            put_new(&self.table, grant_item(grant)),
            put_new(&self.table, decoy),
        ])
        .await
    }

    async fn count_hit(
        &self,
        counter: &str,
        window_start: i64,
        expires_at: i64,
    ) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                format!("RATE#{counter}"),
                &window_start.to_string(),
            )))
            .update_expression("ADD hits :one SET #ttl = :exp, #kind = :kind")
            .expression_attribute_names("#ttl", table::TTL_ATTRIBUTE)
            .expression_attribute_names("#kind", table::KIND_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":kind", s("rate"))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        let attrs = out.attributes.unwrap_or_default();
        Ok(get_n(&attrs, "hits")? as u64)
    }

    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(audit_item(event)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn audit_events(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("AUDIT#{user}")))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(classify)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(audit_from)
            .collect()
    }

    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError> {
        self.transact(vec![put_new(&self.table, outbox_item(mail))])
            .await
    }

    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let mut items = self
            .scan_kind(table::OUTBOX_KIND, Some(limit))
            .await?
            .iter()
            .map(outbox_from)
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        items.truncate(limit);
        Ok(items)
    }

    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.get(outbox_key(id)).await?.is_some())
    }

    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(outbox_key(id)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
