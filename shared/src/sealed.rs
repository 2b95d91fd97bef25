//! A job sealed into an outbox item: a mail or a webhook, serialised and
//! sealed under the service keys, bound to the item's id. The table never
//! holds an address, a link or an event in clear.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::{SealError, ServiceKeys};
use crate::domain::{OutboxItem, UnixTime};

/// Why a sealed job could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open sealed mail: {0}")]
    Sealed(#[from] SealError),
    /// serde_json's message would quote the value it choked on (an
    /// address, a link): only where and what kind of fault is kept.
    #[error("cannot decode sealed mail: {category:?} error at line {line} column {column}")]
    Undecodable {
        category: serde_json::error::Category,
        line: usize,
        column: usize,
    },
}

/// An outbox item holding `job` sealed under the service keys, bound to
/// its id. Jobs are structs of strings and numbers, which always
/// serialise.
#[expect(
    clippy::expect_used,
    reason = "mail and webhook jobs are plain structs of strings and numbers"
)]
pub(crate) fn seal_job(
    job: &impl Serialize,
    id: String,
    keys: &ServiceKeys,
    at: UnixTime,
) -> OutboxItem {
    let plaintext = zeroize::Zeroizing::new(serde_json::to_vec(job).expect("serialisable"));
    OutboxItem {
        sealed: keys.seal(&plaintext, id.as_bytes()),
        id,
        created_at: at,
    }
}

/// The job sealed in `item`.
pub(crate) fn open_job<T: DeserializeOwned>(
    keys: &ServiceKeys,
    item: &OutboxItem,
) -> Result<T, OpenError> {
    let plaintext = keys.open(&item.sealed, item.id.as_bytes())?;
    // serde_json's message quotes the value it choked on (an address, a
    // link): keep only where and what kind of fault.
    serde_json::from_slice(&plaintext).map_err(|e| OpenError::Undecodable {
        category: e.classify(),
        line: e.line(),
        column: e.column(),
    })
}
