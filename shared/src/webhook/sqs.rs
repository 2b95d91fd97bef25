//! Webhook retries in AWS: an SQS queue with per-message delays, consumed
//! by send-email (the function that made the first attempt), and a
//! dead-letter queue after the last retry.
//!
//! Why SQS and not the stream: a stream record reported as failed is
//! retried in order, holding up every record behind it in its shard
//! (other users' reset mail), and without a delay. An SQS message waits
//! its own `DelaySeconds` and holds up nothing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::WebhookError;
use super::sender::{RetryQueue, WebhookClient, WebhookSender};
use crate::clock::{Clock, SystemClock};
use crate::config::{AwsEnvironment, WebhookDelivery};
use crate::crypto::ServiceKeys;
use crate::domain::{OutboxItem, UnixTime};

/// The longest delay SQS gives one message.
const MAX_DELAY: Duration = Duration::from_secs(900);

/// What a retry message carries: the sealed item (nothing in clear) and
/// the number of the attempt it is for.
#[derive(Serialize, Deserialize)]
pub struct RetryMessage {
    pub id: String,
    pub sealed: String,
    pub created_at: UnixTime,
    pub attempt: u32,
}

/// What goes to the dead-letter queue: the sealed item, replayable by
/// putting it back into the outbox, and why it failed.
#[derive(Serialize, Deserialize)]
pub struct DeadLetter {
    pub outbox_id: String,
    pub sealed: String,
    pub created_at: UnixTime,
    pub reason: String,
    pub dead_lettered_at: UnixTime,
}

pub struct SqsRetries {
    client: aws_sdk_sqs::Client,
    retry_queue_url: String,
    dead_letter_url: String,
}

impl SqsRetries {
    pub fn new(
        client: aws_sdk_sqs::Client,
        retry_queue_url: String,
        dead_letter_url: String,
    ) -> Self {
        Self {
            client,
            retry_queue_url,
            dead_letter_url,
        }
    }

    async fn send(
        &self,
        queue: &str,
        body: String,
        delay: Option<Duration>,
    ) -> Result<(), WebhookError> {
        self.client
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .set_delay_seconds(delay.map(|d| d.min(MAX_DELAY).as_secs() as i32))
            .send()
            .await
            .map(|_| ())
            // The error's code only: its message may quote the request.
            .map_err(|e| {
                use aws_sdk_sqs::error::ProvideErrorMetadata;
                WebhookError::RetryQueue(Box::new(crate::error::context(
                    "SQS SendMessage",
                    crate::error::ServiceFailure(e.code().unwrap_or("no answer").to_string()),
                )))
            })
    }
}

#[async_trait]
impl RetryQueue for SqsRetries {
    async fn schedule(
        &self,
        item: &OutboxItem,
        attempt: u32,
        delay: Duration,
    ) -> Result<(), WebhookError> {
        let body = serde_json::to_string(&RetryMessage {
            id: item.id.clone(),
            sealed: item.sealed.clone(),
            created_at: item.created_at,
            attempt,
        })
        .map_err(|e| {
            WebhookError::RetryQueue(Box::new(crate::error::context("retry message", e)))
        })?;
        self.send(&self.retry_queue_url, body, Some(delay)).await
    }

    async fn dead_letter(&self, item: &OutboxItem, reason: &str) -> Result<(), WebhookError> {
        let body = serde_json::to_string(&DeadLetter {
            outbox_id: item.id.clone(),
            sealed: item.sealed.clone(),
            created_at: item.created_at,
            reason: reason.to_string(),
            dead_lettered_at: SystemClock.now(),
        })
        .map_err(|e| WebhookError::RetryQueue(Box::new(crate::error::context("dead letter", e))))?;
        self.send(&self.dead_letter_url, body, None).await
    }
}

/// send-email's sender: None without endpoints (configuration requires
/// the two queue URLs with endpoints; template.yaml sets them).
pub fn sender(
    delivery: &WebhookDelivery,
    keys: &ServiceKeys,
    aws: &AwsEnvironment,
) -> Option<Arc<WebhookSender>> {
    let queues = delivery.queues.as_ref()?;
    let client = aws_sdk_sqs::Client::new(&crate::aws::environment_sdk_config(aws, "SQS"));
    Some(Arc::new(WebhookSender {
        endpoints: delivery.endpoints.clone(),
        keys: keys.clone(),
        client: WebhookClient::default(),
        retries: Arc::new(SqsRetries::new(
            client,
            queues.retry_queue_url.clone(),
            queues.dead_letter_url.clone(),
        )),
    }))
}

/// The part of Lambda's SQS event send-email reads.
#[derive(Deserialize)]
pub struct RetryBatch {
    #[serde(rename = "Records")]
    pub records: Vec<QueuedRetry>,
}

#[derive(Deserialize)]
pub struct QueuedRetry {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
}

/// Lambda's partial batch response for SQS.
#[derive(Serialize, Default, Debug)]
pub struct RetryBatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<RetryFailure>,
}

#[derive(Serialize, Debug)]
pub struct RetryFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Whether an event send-email receives is a batch of the retry queue
/// (rather than of the table's stream).
pub fn is_retry_batch(event: &serde_json::Value) -> bool {
    event["Records"][0]["eventSource"] == "aws:sqs"
}

/// Makes the attempt each retry message is for. A message is reported as
/// failed only when its next step (the retry after it, or the dead-letter
/// queue) could not be queued: SQS then delivers it again, and the retry
/// queue's own redrive policy moves it to the dead-letter queue in the end.
pub async fn consume_retries(
    sender: Option<&WebhookSender>,
    batch: RetryBatch,
) -> RetryBatchResponse {
    let mut response = RetryBatchResponse::default();
    for message in batch.records {
        let failed = || RetryFailure {
            item_identifier: message.message_id.clone(),
        };
        let Ok(retry) = serde_json::from_str::<RetryMessage>(&message.body) else {
            tracing::error!(message_id = %message.message_id, "retry message does not decode");
            response.batch_item_failures.push(failed());
            continue;
        };
        let Some(sender) = sender else {
            tracing::error!(outbox_id = %retry.id, "webhook retry and no endpoint configured");
            response.batch_item_failures.push(failed());
            continue;
        };
        let item = OutboxItem {
            id: retry.id,
            sealed: retry.sealed,
            created_at: retry.created_at,
        };
        if let Err(e) = sender.send(&item, retry.attempt).await {
            tracing::warn!(outbox_id = %item.id, error = %crate::error::Chain(&e), "webhook retry failed; SQS delivers it again");
            response.batch_item_failures.push(failed());
        }
    }
    response
}
