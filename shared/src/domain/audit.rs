//! The audit trail of an account.

use serde::{Deserialize, Serialize};

use super::{UnixTime, UserId};

/// What happened to an account, kept for the operator (`rekeyctl audit`)
/// with a retention TTL. Never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub user_id: UserId,
    /// e.g. `password_reset_link`, `password_reset_code`, `password_set`.
    pub action: String,
    /// `success` or a rejection reason.
    pub outcome: String,
    pub at: UnixTime,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: UnixTime,
}
