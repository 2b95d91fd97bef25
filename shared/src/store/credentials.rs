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
    /// Claims one of the `max` verification attempts of `code` (its user's
    /// code with its digest), before the code is compared: however many
    /// guesses arrive at once, at most `max` are ever compared. `Conflict`
    /// when none is left or the code was replaced or used. Keyed by the
    /// digest, not the issue time: a code replaced within the same second
    /// is another code.
    async fn claim_code_attempt(&self, code: &ResetCode, max: u32) -> Result<(), StoreError>;

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<RefreshToken>, StoreError>;

    /// Stores a refresh token that starts a family (a sign-in). `Conflict`
    /// if its digest is already stored.
    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError>;

    /// Rotates a refresh token in one transaction: marks `presented` used
    /// when `successor` is issued, only if it is unused, unexpired then,
    /// its family is not revoked and its user's credential version is
    /// still the token's, and stores `successor`. `Conflict` when any
    /// condition fails: of concurrent rotations of one token exactly one
    /// succeeds.
    async fn rotate_refresh_token(
        &self,
        presented: &RefreshToken,
        successor: &RefreshToken,
    ) -> Result<(), StoreError>;

    /// Revokes every token of `family` at `at`, including successors stored
    /// later; kept until `until`, the latest expiry a member can have.
    /// Revoking a revoked family changes nothing.
    async fn revoke_refresh_family(
        &self,
        family: &str,
        at: crate::domain::UnixTime,
        until: crate::domain::UnixTime,
    ) -> Result<(), StoreError>;
}
