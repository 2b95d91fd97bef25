//! The outbox's delivery: each item opened, rendered and sent (a mail
//! through the `Mailer`, a webhook through its sender), then marked
//! delivered.

use std::sync::Arc;

use crate::crypto::ServiceKeys;
use crate::domain::OutboxItem;
use crate::error::{Cause, Invariant};
use crate::mail::{MailError, MailJob, MailMessage, Mailer};
use crate::sealed::OpenError;
use crate::store::{Store, StoreError};
use crate::webhook::WebhookError;

/// Why an outbox item was not delivered; it stays queued.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The directory sign-out a notice carries failed again.
    #[error("sign-out not done")]
    SignOut(#[source] Cause),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// A webhook whose first attempt failed, handed to the retry queue (or
    /// dead-lettered): done as far as the outbox goes.
    Deferred,
    /// Delivered by an earlier attempt: a stream retry or a second worker.
    AlreadyDelivered,
}

/// Turns outbox items into sent mail: opens, renders, sends, then marks the
/// item delivered. Delivery is at least once: a crash between send and mark
/// resends on retry, never loses.
#[derive(Clone)]
pub struct Outbox {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub keys: ServiceKeys,
    pub product_name: String,
    /// Sends the outbox's webhook items; None where none are configured
    /// (then a webhook item stays queued and is reported as failed).
    #[cfg(feature = "webhook-delivery")]
    pub webhooks: Option<std::sync::Arc<crate::webhook::sender::WebhookSender>>,
    /// Retries the directory sign-outs notices carry; None with rekey's
    /// own accounts (their notices never carry one).
    pub directory: Option<Arc<dyn crate::directory::Directory>>,
}

impl Outbox {
    pub async fn deliver(&self, item: &OutboxItem) -> Result<Delivery, DeliveryError> {
        let result = self.try_deliver(item).await;
        crate::metrics::count(match result {
            Ok(Delivery::Sent) => crate::metrics::Metric::MailsSent,
            Ok(Delivery::AlreadyDelivered | Delivery::Deferred) => return result,
            Err(_) => crate::metrics::Metric::MailsFailed,
        });
        result
    }

    async fn try_deliver(&self, item: &OutboxItem) -> Result<Delivery, DeliveryError> {
        if !self.store.mail_pending(&item.id).await? {
            return Ok(Delivery::AlreadyDelivered);
        }
        if crate::webhook::is_webhook(item) {
            return self.send_webhook(item).await;
        }
        let job = MailJob::open(&self.keys, item)?;
        if let MailMessage::PasswordChanged {
            sign_out_pending: true,
            ..
        } = &job.message
        {
            let directory = self.directory.as_ref().ok_or_else(|| {
                DeliveryError::SignOut(Box::new(Invariant(
                    "this worker has no directory configured",
                )))
            })?;
            directory
                .sign_out(&job.user_id)
                .await
                .map_err(|e| DeliveryError::SignOut(Box::new(e)))?;
            tracing::info!(outbox_id = %item.id, user_id = %job.user_id, "queued sign-out done");
        }
        let mail = job.render(&self.product_name);
        self.mailer.send(&mail).await?;
        self.store.mail_delivered(&item.id).await?;
        tracing::info!(outbox_id = %item.id, user_id = %job.user_id, "mail sent");
        Ok(Delivery::Sent)
    }

    /// Delivers what is pending, oldest first; for the local worker. Returns
    /// how many were sent; failures stay queued for the next round.
    pub async fn drain(&self, limit: usize) -> Result<usize, StoreError> {
        let mut sent = 0;
        for item in self.store.pending_mail(limit).await? {
            match self.deliver(&item).await {
                Ok(Delivery::Sent) => sent += 1,
                Ok(Delivery::AlreadyDelivered | Delivery::Deferred) => {}
                Err(e) => {
                    tracing::warn!(outbox_id = %item.id, error = %crate::error::Chain(&e), "mail delivery failed; will retry")
                }
            }
        }
        Ok(sent)
    }
}

impl Outbox {
    /// The first attempt of a webhook item; once it is delivered or handed
    /// to the retry queue the outbox item is done.
    pub(crate) async fn send_webhook(&self, item: &OutboxItem) -> Result<Delivery, DeliveryError> {
        #[cfg(feature = "webhook-delivery")]
        if let Some(sender) = &self.webhooks {
            use crate::webhook::sender::Outcome;
            let outcome = sender.send(item, 1).await?;
            self.store.mail_delivered(&item.id).await?;
            return Ok(match outcome {
                Outcome::Delivered => Delivery::Sent,
                Outcome::Retrying { .. } | Outcome::DeadLettered => Delivery::Deferred,
            });
        }
        Err(WebhookError::RetryQueue(Box::new(crate::error::context(
            format!("webhook item {}", item.id),
            Invariant("no webhook sender configured"),
        )))
        .into())
    }
}
