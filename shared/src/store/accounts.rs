//! Accounts: the users a reset is for.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{ChangeClaim, EmailAddress, OutboxItem, User, UserId};

#[async_trait]
pub trait AccountStore: Send + Sync {
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
    /// Disables an enabled account as `set_user_disabled` does and queues
    /// `notices` (its `account.disabled` webhooks) in the same write.
    /// `Conflict` if no such user or it is disabled already: then nothing
    /// is queued.
    async fn disable_user(&self, id: &UserId, notices: &[OutboxItem]) -> Result<(), StoreError>;
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

    /// Makes `claim` ([`ChangeClaim`]) if the credential version is still
    /// the expected one and no live claim on that version is another's,
    /// before the change transaction; that transaction moves the version,
    /// which ends the claim. `Conflict` otherwise (or no such user).
    async fn claim_password_change(&self, claim: &ChangeClaim) -> Result<(), StoreError>;
    /// Gives a claim back (the directory refused the password or failed),
    /// if `holder` still holds it; the credential stays usable at once.
    async fn release_password_change(&self, id: &UserId, holder: &str) -> Result<(), StoreError>;
}
