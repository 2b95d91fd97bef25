//! The `Store` port: everything the domain persists, as one trait per role
//! composed into `Store`. DynamoDB in AWS, SQLite locally; both pass the
//! conformance suite in `shared/tests/`.

use crate::error::Cause;

mod accounts;
mod api_keys;
mod audit;
mod counters;
mod credentials;
mod intake;
mod outbox;

pub use accounts::AccountStore;
pub use api_keys::ApiKeyStore;
pub use audit::AuditStore;
pub use counters::CounterStore;
pub use credentials::CredentialStore;
pub use intake::IntakeStore;
pub use outbox::OutboxStore;

/// The DynamoDB item layout is compiled without the SDK too: the stream
/// consumer decodes outbox images through the same records.
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;

/// The `kind` attribute of outbox items in the DynamoDB table; the stream
/// filter of the send-email function selects on it.
pub const OUTBOX_KIND: &str = "outbox";
/// The `kind` attribute of intake items; the stream filter selects it too.
pub const INTAKE_KIND: &str = "intake";

/// What a corrupt record holds that it should not.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CorruptRecord(pub String);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's precondition no longer holds (taken id or email, grant
    /// already used, credential version moved on).
    #[error("conflicting write: {0}")]
    Conflict(&'static str),
    /// The store cannot be reached or refuses service (throttling, outage).
    /// Retrying later may succeed.
    #[error("store unavailable")]
    Unavailable(#[source] Cause),
    /// A record that does not decode: a bug or a manual edit.
    #[error("corrupt record")]
    Corrupt(#[source] Cause),
    /// A request that could not be put together (a field the SDK requires
    /// left unset, a record that does not serialise): a bug, not an outage.
    #[error("store request could not be built")]
    Request(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// A record whose `what` is not what rekey writes (an unparsable id, an
    /// unknown purpose): nothing deeper to keep.
    pub fn corrupt(what: String) -> Self {
        StoreError::Corrupt(Box::new(CorruptRecord(what)))
    }

    /// A failed precondition said in the terms of the write that failed
    /// ("no such user", "a user with that id or email exists"); any other
    /// error is kept as it is.
    pub fn conflict_as(self, why: &'static str) -> Self {
        match self {
            StoreError::Conflict(_) => StoreError::Conflict(why),
            other => other,
        }
    }
}

/// A store failure in the domain's terms: an outage is `Unavailable`,
/// anything else (a failed precondition nobody expected, a corrupt record)
/// `Internal`; either way the store error is kept as the cause.
impl From<StoreError> for crate::error::ResetError {
    fn from(e: StoreError) -> Self {
        match e {
            e @ StoreError::Unavailable(_) => crate::error::ResetError::Unavailable(Box::new(e)),
            other => crate::error::ResetError::Internal(Box::new(other)),
        }
    }
}

/// Everything the domain persists. Implemented for every type that fills
/// all seven roles, so `Arc<dyn Store>` serves wherever the whole port is
/// needed; callers bring the role traits they call into scope.
pub trait Store:
    AccountStore + ApiKeyStore + CredentialStore + CounterStore + AuditStore + OutboxStore + IntakeStore
{
}

impl<T> Store for T where
    T: AccountStore
        + ApiKeyStore
        + CredentialStore
        + CounterStore
        + AuditStore
        + OutboxStore
        + IntakeStore
        + ?Sized
{
}
