//! The outbox: sealed mail queued with the writes that caused it.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::OutboxItem;

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues one mail on its own.
    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError>;
    /// Oldest first; for the local outbox worker (in AWS the table's stream
    /// feeds the send-email function instead).
    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;
    /// Whether the item is still queued (not yet delivered).
    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError>;
    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError>;
}
