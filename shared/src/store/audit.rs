//! The audit trail of each account.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{AuditEvent, UserId};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Records an event on its own (refusals; successful password changes
    /// are recorded in their own transaction).
    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The user's events, newest first.
    async fn audit_events(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}
