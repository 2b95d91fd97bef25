//! The client side of the DynamoDB store: construction, reads, and the
//! transaction runner every multi-item write goes through.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::keys::Key;
use super::records::Record;
use super::table;
use crate::config::{AwsEnvironment, StoreSettings};
use crate::store::StoreError;

/// Attempts at a transaction that DynamoDB cancelled only because another
/// transaction touched the same items.
const TRANSACTION_ATTEMPTS: u32 = 4;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
}

/// A failed condition is the domain's conflict; anything else the store
/// refusing service.
pub(super) fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::Conflict("condition failed"),
        _ => StoreError::Unavailable(Box::new(e)),
    }
}

/// Why DynamoDB cancelled a transaction.
enum Cancelled {
    /// A condition of ours failed: the domain's conflict.
    Condition,
    /// Another transaction touched the same items: worth retrying.
    Contention,
    /// Throttling, validation, capacity: the store refuses service, which
    /// callers must not mistake for a used or invalid credential.
    Refused(Refusal),
}

/// Why DynamoDB refused a transaction: its cancellation reasons' codes.
#[derive(Debug, thiserror::Error)]
#[error("transaction cancelled: {reasons:?}")]
pub(super) struct Refusal {
    reasons: Vec<String>,
}

/// A transaction that kept losing to others touching the same items.
#[derive(Debug, thiserror::Error)]
#[error("transaction contention persisted through retries")]
struct Contention;

impl Cancelled {
    fn of(e: &TransactWriteItemsError) -> Option<Self> {
        let TransactWriteItemsError::TransactionCanceledException(c) = e else {
            return None;
        };
        let causes: Vec<&str> = c
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code())
            .filter(|c| *c != "None")
            .collect();
        Some(if causes.contains(&"ConditionalCheckFailed") {
            Cancelled::Condition
        } else if !causes.is_empty() && causes.iter().all(|c| *c == "TransactionConflict") {
            Cancelled::Contention
        } else {
            Cancelled::Refused(Refusal {
                reasons: causes.into_iter().map(str::to_string).collect(),
            })
        })
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// What a Lambda builds at init: the table, with region, credentials
    /// and `AWS_ENDPOINT_URL[_DYNAMODB]` from the environment only
    /// (`aws::environment_sdk_config`). Builds the client only; no network.
    pub fn from_settings(settings: &StoreSettings, aws: &AwsEnvironment) -> Self {
        let sdk = crate::aws::environment_sdk_config(aws, "DYNAMODB");
        Self::new(Client::new(&sdk), settings.table.clone())
    }

    /// A client for `table` configured by the SDK's default chain
    /// (profiles, SSO): for rekeyctl on an operator's machine.
    pub async fn connect(table: &str) -> Result<Self, crate::ConfigError> {
        Ok(Self::new(
            Client::new(&crate::aws::sdk_config().await?),
            table,
        ))
    }

    /// As `connect`, with the patience of an operator's command rather
    /// than a request path's: attempts of up to 20 s, 60 s in all.
    pub async fn connect_for_operator(table: &str) -> Result<Self, crate::ConfigError> {
        let sdk = crate::aws::sdk_config().await?;
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        Ok(Self::new(Client::from_conf(config), table))
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The record at `key`, read consistently.
    pub(super) async fn get<R: Record>(&self, key: Key) -> Result<Option<R>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()?))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?
            .item
            .map(R::from_item)
            .transpose()
    }

    /// An UpdateItem of the item at `key`, for the caller to complete.
    pub(super) fn update(&self, key: Key) -> Result<UpdateItemFluentBuilder, StoreError> {
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()?)))
    }

    /// Every record of `R`'s kind (at least `limit` of them when there are
    /// as many), in no particular order.
    pub(super) async fn scan_kind<R: Record>(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<R>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#k = :k")
                .expression_attribute_names("#k", table::KIND_ATTRIBUTE)
                .expression_attribute_values(":k", AttributeValue::S(R::KIND.to_string()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|l| items.len() >= l) {
                return items.into_iter().map(R::from_item).collect();
            }
        }
    }

    /// Runs a transaction, retrying when it lost only to contention.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
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
            match e.as_service_error().and_then(Cancelled::of) {
                Some(Cancelled::Condition) => return Err(StoreError::Conflict("condition failed")),
                Some(Cancelled::Contention) if attempt < TRANSACTION_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                Some(Cancelled::Contention) => {
                    return Err(StoreError::Unavailable(Box::new(Contention)));
                }
                Some(Cancelled::Refused(why)) => {
                    return Err(StoreError::Unavailable(Box::new(why)));
                }
                None => return Err(classify(e)),
            }
        }
    }
}
