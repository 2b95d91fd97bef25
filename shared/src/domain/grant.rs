//! Reset grants: what a link token (or a signed link's nonce) redeems, and
//! the credential a password change consumes.

use serde::{Deserialize, Serialize};

use super::{CredentialVersion, UnixTime, UserId};
use crate::crypto::{BearerSecret, LINK_TOKEN_PREFIX, SecretDigest};

/// What a grant was issued for: each is redeemed by its own route only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantPurpose {
    /// A reset link (Payabli, Unleash): sets a password.
    ResetLink,
    /// Account recovery: sets a password and logs the user in.
    AccountRecovery,
    /// The server-side nonce of a signed link (django-rest-registration).
    SignedLink,
}

impl GrantPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantPurpose::ResetLink => "reset_link",
            GrantPurpose::AccountRecovery => "account_recovery",
            GrantPurpose::SignedLink => "signed_link",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            GrantPurpose::ResetLink,
            GrantPurpose::AccountRecovery,
            GrantPurpose::SignedLink,
        ]
        .into_iter()
        .find(|p| p.as_str() == raw)
    }
}

/// A single-use permission to set a user's password, redeemed with the link
/// token whose digest keys it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetGrant {
    pub digest: SecretDigest,
    pub user_id: UserId,
    /// The user's version when issued: a later password change voids it.
    pub credential_version: CredentialVersion,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    /// None on grants written before grants had a purpose: a reset link
    /// or a recovery, redeemable by either route.
    #[serde(default)]
    pub purpose: Option<GrantPurpose>,
    /// The origin of the link the token was mailed in (`https://host`);
    /// None when unknown (grants written before), then not checked.
    #[serde(default)]
    pub origin: Option<String>,
}

impl ResetGrant {
    /// A fresh link token and the unused grant it redeems, issued at
    /// `issued_at` under the user's `credential_version`, for `purpose`, to
    /// be mailed in a link at `origin`. The token is returned for the mail
    /// only; the grant keeps its digest.
    pub fn issue(
        user_id: UserId,
        credential_version: CredentialVersion,
        issued_at: UnixTime,
        ttl: std::time::Duration,
        purpose: GrantPurpose,
        origin: String,
    ) -> (BearerSecret, Self) {
        let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
        let grant = Self {
            digest: token.digest(),
            user_id,
            credential_version,
            issued_at,
            expires_at: issued_at.plus(ttl),
            used_at: None,
            purpose: Some(purpose),
            origin: Some(origin),
        };
        (token, grant)
    }

    /// Whether a route redeeming `purpose` may redeem this grant.
    pub fn serves(&self, purpose: GrantPurpose) -> bool {
        match self.purpose {
            Some(p) => p == purpose,
            None => purpose != GrantPurpose::SignedLink,
        }
    }

    pub fn is_expired(&self, at: UnixTime) -> bool {
        at >= self.expires_at
    }
}

/// The credential a password change consumes, in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// A link token's grant: only if unused and unexpired.
    Grant(SecretDigest),
    /// The user's reset code with this digest, only if still there: a code
    /// replaced within the same second has another digest.
    Code { digest: String },
    /// Nothing stored: signed links, the current password, an admin.
    Nothing,
}
