//! Zitadel's short reset codes.

use serde::{Deserialize, Serialize};

use super::{CredentialVersion, UnixTime, UserId};

/// A short reset code (Zitadel), one per user: a new one replaces the old.
/// Stored as a keyed digest, never in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetCode {
    pub user_id: UserId,
    /// Hex HMAC of the code under a key derived from the service secret.
    pub digest: String,
    pub credential_version: CredentialVersion,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// Verification attempts claimed so far (see `Store::claim_code_attempt`).
    pub attempts: u32,
}

impl ResetCode {
    /// A code issued at `issued_at` under the user's `credential_version`,
    /// no attempt claimed yet. `digest` is the keyed digest of the code
    /// shown to the user.
    pub fn issue(
        user_id: UserId,
        digest: String,
        credential_version: CredentialVersion,
        issued_at: UnixTime,
        ttl: std::time::Duration,
    ) -> Self {
        Self {
            user_id,
            digest,
            credential_version,
            issued_at,
            expires_at: issued_at.plus(ttl),
            attempts: 0,
        }
    }
}
