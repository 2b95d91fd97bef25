//! The `Store` port: everything the domain persists. DynamoDB in AWS, SQLite
//! locally; both pass the conformance suite in `shared/tests/`.

use async_trait::async_trait;

use crate::crypto::SecretDigest;
use crate::domain::{
    ApiKey, AuditEvent, EmailAddress, OutboxItem, PasswordChange, Redemption, RefreshToken,
    ResetCode, ResetGrant, User, UserId,
};

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
    /// Costs the same whether or not the address has an account.
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError>;
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Disables or re-enables an account (`rekeyctl user disable|enable`).
    /// Disabling also bumps the credential version, so re-enabling never
    /// revives a token, code, signed link or session issued before.
    /// `Conflict` if no such user.
    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<(), StoreError>;
    /// Replaces the password hash only if it is still `expected`: the
    /// upgrade of an old hash on verification. Not a password change: the
    /// credential version, sequence and history stay as they are.
    /// `Conflict` when the hash changed meanwhile (or no such user).
    async fn update_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<(), StoreError>;

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError>;
    /// Every key (digests and metadata only), oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Marks a key revoked; `Conflict` if no key has that digest.
    async fn revoke_api_key(&self, digest: &SecretDigest) -> Result<(), StoreError>;

    /// The grant and its mail, in one transaction: both or neither.
    async fn insert_grant(&self, grant: &ResetGrant, mail: &OutboxItem) -> Result<(), StoreError>;
    async fn grant(&self, digest: &SecretDigest) -> Result<Option<ResetGrant>, StoreError>;

    /// Applies a password change and consumes `redemption` in one
    /// transaction: the new hash, the next credential version and sequence,
    /// the notice mail, the session if any. `Conflict` when the credential
    /// was consumed meanwhile or the user's credential version moved: of
    /// concurrent changes exactly one succeeds.
    async fn change_password(
        &self,
        change: &PasswordChange,
        redemption: &Redemption,
    ) -> Result<(), StoreError>;

    /// Replaces the user's reset code, bumps the user's sequence, and queues
    /// the code's mail if any, in one transaction. Returns the new sequence.
    async fn replace_reset_code(
        &self,
        code: &ResetCode,
        mail: Option<&OutboxItem>,
    ) -> Result<u64, StoreError>;
    async fn reset_code(&self, user: &UserId) -> Result<Option<ResetCode>, StoreError>;
    /// Claims one of the `max` verification attempts of the code issued at
    /// `issued_at`, before the code is compared: however many guesses arrive
    /// at once, at most `max` are ever compared. `Conflict` when none is
    /// left or the code was replaced or used.
    async fn claim_code_attempt(
        &self,
        user: &UserId,
        issued_at: i64,
        max: u32,
    ) -> Result<(), StoreError>;

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<RefreshToken>, StoreError>;

    /// The same writes a grant and its mail cost, of records nothing reads:
    /// a request for an address without an account does this instead, so
    /// its timing says nothing. The decoy grant names no existing user.
    async fn insert_decoy(&self, grant: &ResetGrant) -> Result<(), StoreError>;

    /// Counts one hit on `key` in the window that started at `window_start`,
    /// returning the hits so far in it (this one included). The counter
    /// expires at `expires_at`.
    async fn count_hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
    ) -> Result<u64, StoreError>;

    /// Records an event on its own (refusals; successful password changes
    /// are recorded in their own transaction).
    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The user's events, newest first.
    async fn audit_events(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Queues one mail on its own.
    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError>;
    /// Oldest first; for the local outbox worker (in AWS the table's stream
    /// feeds the send-email function instead).
    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;
    /// Whether the item is still queued (not yet delivered).
    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError>;
    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError>;
}
