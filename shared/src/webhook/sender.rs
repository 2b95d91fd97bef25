//! Sending webhooks: one signed POST per attempt, retries through a
//! `RetryQueue` (SQS in AWS, in process locally), the dead-letter queue
//! after the last retry.
//!
//! The outbox's consumer makes the first attempt. A failure hands the
//! sealed item to the retry queue and the outbox item is done: the mail
//! and webhooks behind it in the stream are never held up by an endpoint
//! that is down, and no user's request ever waits on an endpoint.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_types::body::SdkBody;

use super::WebhookError;
use super::{Endpoint, Endpoints, WebhookJob, sign};
use crate::clock::{Clock, SystemClock};
use crate::crypto::ServiceKeys;
use crate::domain::OutboxItem;

/// Connect and whole-attempt bound: an endpoint that hangs costs at most
/// this per attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where failed messages wait for their next attempt, and where they go
/// after the last.
#[async_trait]
pub trait RetryQueue: Send + Sync {
    /// Attempt number `attempt` (2 for the first retry) of `item`, after
    /// `delay`.
    async fn schedule(
        &self,
        item: &OutboxItem,
        attempt: u32,
        delay: Duration,
    ) -> Result<(), WebhookError>;
    /// After the last retry failed (or the endpoint is no longer
    /// configured): the sealed item, never its contents.
    async fn dead_letter(&self, item: &OutboxItem, reason: &str) -> Result<(), WebhookError>;
}

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx.
    Delivered(u16),
    /// Anything else, said without the endpoint's answer: a status, a
    /// timeout, a connection failure.
    Failed(String),
}

/// What became of a message after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Handed to the retry queue for attempt `next`.
    Retrying {
        next: u32,
    },
    DeadLettered,
}

/// One hyper + rustls connector (`crate::https`, as the AWS SDK clients
/// use), without redirects: a 3xx is a failed attempt.
#[derive(Clone)]
pub struct WebhookClient(crate::https::HttpsConnector);

impl Default for WebhookClient {
    fn default() -> Self {
        Self(crate::https::HttpsConnector::new(
            Some(ATTEMPT_TIMEOUT),
            Some(ATTEMPT_TIMEOUT),
        ))
    }
}

impl WebhookClient {
    /// One signed POST of `job` to `endpoint`, timestamped now.
    pub async fn attempt(&self, endpoint: &Endpoint, job: &WebhookJob) -> Attempt {
        let Some(secret) = &endpoint.secret else {
            return Attempt::Failed("no secret configured".into());
        };
        // When the attempt is made: the sending side's clock, which the
        // receiver checks against its own.
        let timestamp = SystemClock.now().secs();
        let signature = sign(secret, &job.message_id, timestamp, &job.body);
        let request = http::Request::builder()
            .method("POST")
            .uri(endpoint.url.as_str())
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("rekey-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &job.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(SdkBody::from(job.body.clone()));
        let request = match request.map_err(|e| e.to_string()).and_then(|r| {
            aws_smithy_runtime_api::http::Request::try_from(r).map_err(|e| e.to_string())
        }) {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(format!("request not built: {e}")),
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.0.call(request)).await {
            Err(_) => Attempt::Failed("timeout".into()),
            Ok(Err(e)) if e.is_timeout() => Attempt::Failed("timeout".into()),
            Ok(Err(e)) if e.is_io() => Attempt::Failed("connection failed".into()),
            Ok(Err(_)) => Attempt::Failed("transport error".into()),
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    Attempt::Delivered(status)
                } else {
                    Attempt::Failed(format!("status {status}"))
                }
            }
        }
    }
}

/// Sends the webhook items of the outbox and their retries.
#[derive(Clone)]
pub struct WebhookSender {
    pub endpoints: Endpoints,
    pub keys: ServiceKeys,
    pub client: WebhookClient,
    pub retries: Arc<dyn RetryQueue>,
}

impl WebhookSender {
    /// Attempt number `attempt` of a sealed item; on failure the next
    /// attempt is scheduled, or after the last the item is dead-lettered.
    /// An error only when neither could be done: the caller keeps the item
    /// and its own retry applies.
    pub async fn send(&self, item: &OutboxItem, attempt: u32) -> Result<Outcome, WebhookError> {
        let job = WebhookJob::open(&self.keys, item)?;
        let Some(endpoint) = self.endpoints.named(&job.endpoint) else {
            tracing::warn!(outbox_id = %item.id, endpoint = %job.endpoint, "webhook endpoint no longer configured; dead-lettered");
            self.retries
                .dead_letter(item, "endpoint not configured")
                .await?;
            return Ok(Outcome::DeadLettered);
        };
        let result = self.client.attempt(endpoint, &job).await;
        let reason = match result {
            Attempt::Delivered(status) => {
                tracing::info!(outbox_id = %item.id, webhook_id = %job.message_id, endpoint = %endpoint.name, event = %job.event_type, attempt, status, "webhook delivered");
                return Ok(Outcome::Delivered);
            }
            Attempt::Failed(reason) => reason,
        };
        match self
            .endpoints
            .retry_delays
            .get(attempt.saturating_sub(1) as usize)
        {
            Some(delay) => {
                let next = attempt + 1;
                tracing::warn!(outbox_id = %item.id, webhook_id = %job.message_id, endpoint = %endpoint.name, attempt, reason = %reason, retry_in_seconds = delay.as_secs(), "webhook attempt failed; will retry");
                self.retries.schedule(item, next, *delay).await?;
                Ok(Outcome::Retrying { next })
            }
            None => {
                tracing::error!(outbox_id = %item.id, webhook_id = %job.message_id, endpoint = %endpoint.name, attempt, reason = %reason, "webhook failed after the last retry; dead-lettered");
                self.retries.dead_letter(item, &reason).await?;
                Ok(Outcome::DeadLettered)
            }
        }
    }
}
