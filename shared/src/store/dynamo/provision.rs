//! Creating the table as template.yaml defines it (`rekeyctl table create`
//! and the tests): keys, on-demand billing, the NEW_IMAGE stream, TTL.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use super::DynamoStore;
use super::client::classify;
use super::table::{PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE};
use super::transactions::built;
use crate::store::StoreError;

impl DynamoStore {
    /// Creates the table as template.yaml defines it, waits until it is
    /// active, and turns on TTL.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PARTITION_KEY)?)
            .attribute_definitions(attr(SORT_KEY)?)
            .key_schema(key_schema(PARTITION_KEY, KeyType::Hash)?)
            .key_schema(key_schema(SORT_KEY, KeyType::Range)?)
            .stream_specification(built(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build(),
            )?)
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
            .time_to_live_specification(built(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build(),
            )?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

fn attr(name: &str) -> Result<AttributeDefinition, StoreError> {
    built(
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build(),
    )
}

fn key_schema(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    built(
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build(),
    )
}
