//! Signed change notifications (Standard Webhooks): the events rekey
//! tells an application about, the endpoints it tells, how a message is
//! signed, and the sealed outbox item that carries one message to one
//! endpoint.
//!
//! A webhook is queued as an outbox item in the same store transaction as
//! the change it reports, so a change that loses its race reports nothing
//! and a committed change is reported at least once. Its id starts with
//! `webhook-`: the outbox's one consumer tells mail from webhooks by it,
//! so the table, its stream filter and the stores stay as they are.

use serde::{Deserialize, Serialize};

use crate::crypto::ServiceKeys;
use crate::domain::OutboxItem;
use crate::error::Cause;
use crate::sealed::{OpenError, open_job, seal_job};

pub mod endpoint;
pub mod event;
pub mod secret;
#[cfg(feature = "webhook-delivery")]
pub mod sender;
#[cfg(feature = "sqs")]
pub mod sqs;

pub use endpoint::{Endpoint, EndpointError, Endpoints};
pub use event::{EventType, WebhookEvent};
pub use secret::{WebhookSecret, sign};

/// How the outbox ids of webhook items begin.
pub const ITEM_PREFIX: &str = "webhook-";

/// Whether an outbox item carries a webhook rather than a mail.
pub fn is_webhook(item: &OutboxItem) -> bool {
    item.id.starts_with(ITEM_PREFIX)
}

/// Why a webhook item was neither delivered nor handed on for a retry.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A retry could not be queued (or dead-lettered), or no sender is
    /// configured.
    #[error("webhook retry queue unavailable")]
    RetryQueue(#[source] Cause),
}

/// One event for one endpoint: what a webhook outbox item holds, sealed
/// (the body names the user's address, and may hold the password hash).
#[derive(Clone, Serialize, Deserialize)]
pub struct WebhookJob {
    /// The endpoint's name in the configuration; its URL and secret are
    /// looked up at each attempt.
    pub endpoint: String,
    /// `webhook-id`: the event's id, the same at every attempt.
    pub message_id: String,
    pub event_type: String,
    /// The exact body that is signed and sent.
    pub body: String,
}

impl WebhookJob {
    /// The job sealed into an outbox item queued at `at`.
    pub fn seal(&self, keys: &ServiceKeys, at: crate::domain::UnixTime) -> OutboxItem {
        let id = format!("{ITEM_PREFIX}{}", uuid::Uuid::new_v4());
        seal_job(self, id, keys, at)
    }

    pub fn open(keys: &ServiceKeys, item: &OutboxItem) -> Result<Self, OpenError> {
        open_job(keys, item)
    }
}

impl Endpoints {
    /// The sealed outbox items that tell each endpoint whose filter takes
    /// `event` about it: none when no endpoint wants it.
    pub fn queue(&self, event: &WebhookEvent, keys: &ServiceKeys) -> Vec<OutboxItem> {
        let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        self.wanting(event.event_type)
            .map(|endpoint| {
                WebhookJob {
                    endpoint: endpoint.name.clone(),
                    message_id: message_id.clone(),
                    event_type: event.event_type.as_str().to_string(),
                    body: event.body_for(endpoint.include_password_hash),
                }
                .seal(keys, event.at)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ServiceSecret;

    #[test]
    fn a_job_round_trips_sealed_and_the_item_holds_nothing_in_clear() {
        let keys = ServiceKeys::new(ServiceSecret::generate().0, None);
        let job = WebhookJob {
            endpoint: "app".into(),
            message_id: "msg_1".into(),
            event_type: "password.changed".into(),
            body: r#"{"data":{"email":"ada@example.com","password_hash":"$argon2id$x"}}"#.into(),
        };
        let item = job.seal(&keys, crate::domain::UnixTime::EPOCH);
        assert!(is_webhook(&item));
        assert!(!item.sealed.contains("ada@") && !item.sealed.contains("argon2"));
        let opened = WebhookJob::open(&keys, &item).unwrap();
        assert_eq!(opened.body, job.body);
        assert_eq!(opened.message_id, "msg_1");
        // Bound to its id: moved under another id, it does not open.
        let moved = OutboxItem {
            id: format!("{ITEM_PREFIX}other"),
            ..item
        };
        assert!(WebhookJob::open(&keys, &moved).is_err());
    }
}
