//! A password change, written in one conditional transaction.

use super::{AuditEvent, CredentialVersion, OutboxItem, RefreshToken, UnixTime, UserId};

/// A password change: the new hash replaces the old one only if the user's
/// credential version is still `expected`; the notice mail (and, for a
/// log-in, the refresh token) are written in the same transaction.
#[derive(Clone, Debug)]
pub struct PasswordChange {
    pub user_id: UserId,
    pub expected: CredentialVersion,
    pub new_hash: String,
    pub history: Vec<String>,
    pub changed_at: UnixTime,
    pub notice: OutboxItem,
    /// One sealed `password.changed` webhook per endpoint that wants it,
    /// queued with the change.
    pub webhooks: Vec<OutboxItem>,
    pub session: Option<RefreshToken>,
    pub audit: AuditEvent,
}
