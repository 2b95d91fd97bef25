//! Credentials: grants, reset codes, and refresh tokens, with
//! the transactional writes that issue and consume them.

use async_trait::async_trait;

use super::StoreError;
use crate::crypto::SecretDigest;
use crate::domain::{
    OutboxItem, PasswordChange, Redemption, RefreshToken, ResetCode, ResetGrant, UserId,
};

#[async_trait]
pub trait CredentialStore: Send + Sync {
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
    /// Claims one of the `max` verification attempts of the code with this
    /// `digest`, before the code is compared: however many guesses arrive
    /// at once, at most `max` are ever compared. `Conflict` when none is
    /// left or the code was replaced or used. Keyed by the digest, not the
    /// issue time: a code replaced within the same second is another code.
    async fn claim_code_attempt(
        &self,
        user: &UserId,
        digest: &str,
        max: u32,
    ) -> Result<(), StoreError>;

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<RefreshToken>, StoreError>;
}
