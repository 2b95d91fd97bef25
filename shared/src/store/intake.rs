//! The intake: address requests queued by the request functions and
//! handled by delivery (the stream consumer, or the local worker).

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{IntakeItem, OutboxItem, ResetGrant};

#[async_trait]
pub trait IntakeStore: Send + Sync {
    /// Queues one address request: a single item of fixed size.
    async fn enqueue_intake(&self, item: &IntakeItem) -> Result<(), StoreError>;
    /// Oldest first; for the local worker (in AWS the table's stream feeds
    /// the send-email function instead).
    async fn pending_intake(&self, limit: usize) -> Result<Vec<IntakeItem>, StoreError>;
    /// Whether the request is still waiting for delivery.
    async fn intake_pending(&self, id: &str) -> Result<bool, StoreError>;
    /// Removes the request and writes what delivering it issued (a grant,
    /// a mail, both or neither) in one transaction, only while the request
    /// is still pending: `Conflict` when another delivery took it first, so
    /// one request never mails twice.
    async fn complete_intake(
        &self,
        id: &str,
        link: Option<(&ResetGrant, &OutboxItem)>,
    ) -> Result<(), StoreError>;
}
