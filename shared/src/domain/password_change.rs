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

/// A claim on a user's next password change: a directory that keeps
/// passwords outside the store (a Cognito pool) is written only by the
/// claim's `holder`, from `at` until `until`, and only while the
/// credential version is still `expected`. A claim made under an older
/// version ended with the change that moved it; one under this version
/// blocks others until it runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeClaim {
    pub user_id: UserId,
    pub expected: CredentialVersion,
    pub holder: String,
    pub at: UnixTime,
    pub until: UnixTime,
}
