//! The sealed items the two queues hold: mail and webhooks (the outbox)
//! and address requests (the intake).

use serde::{Deserialize, Serialize};

use super::UnixTime;

/// Mail waiting in the transactional outbox. Everything about the message,
/// recipient and link included, is sealed: the table holds no token in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: String,
    pub sealed: String,
    pub created_at: UnixTime,
}

/// A request for an address, waiting for delivery: what the address
/// endpoints write, the same for every address. Sealed and padded to one
/// size, so neither its contents nor its length say which address it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeItem {
    pub id: String,
    pub sealed: String,
    pub created_at: UnixTime,
}
