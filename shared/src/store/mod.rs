//! The `Store` port: everything the domain persists. DynamoDB in AWS, SQLite
//! locally; both pass the conformance suite in `shared/tests/`.

use async_trait::async_trait;

use crate::crypto::SecretDigest;
use crate::domain::{ApiKey, EmailAddress, OutboxItem, PasswordChange, ResetGrant, User, UserId};

#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;

/// The `kind` attribute of outbox items in the DynamoDB table; the stream
/// filter of the send-email function selects on it.
pub const OUTBOX_KIND: &str = "outbox";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's precondition no longer holds (taken id or email, grant
    /// already used, credential version moved on).
    #[error("conflicting write: {0}")]
    Conflict(&'static str),
    /// The store cannot be reached or refuses service (throttling, outage).
    /// Retrying later may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record that does not decode: a bug or a manual edit.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Fails with `Conflict` when the id or the email is taken.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError>;
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError>;

    /// The grant and its mail, in one transaction: both or neither.
    async fn insert_grant(&self, grant: &ResetGrant, mail: &OutboxItem) -> Result<(), StoreError>;
    async fn grant(&self, digest: &SecretDigest) -> Result<Option<ResetGrant>, StoreError>;
    /// Marks the grant used and applies the password change in one
    /// transaction. `Conflict` when the grant was used meanwhile or the
    /// user's credential version moved: of concurrent redemptions exactly
    /// one succeeds.
    async fn redeem_grant(
        &self,
        grant: &SecretDigest,
        change: &PasswordChange,
    ) -> Result<(), StoreError>;

    /// Queues one mail on its own.
    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError>;
    /// Oldest first; for the local outbox worker (in AWS the table's stream
    /// feeds the send-email function instead).
    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;
    /// Whether the item is still queued (not yet delivered).
    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError>;
    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError>;
}
