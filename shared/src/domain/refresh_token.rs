//! Refresh tokens and their families.

use serde::{Deserialize, Serialize};

use super::{CredentialVersion, UnixTime, UserId};
use crate::crypto::{BearerSecret, REFRESH_TOKEN_PREFIX, SecretDigest};

/// A refresh token, stored by digest. It dies with the credential version
/// it was issued under. Tokens form families: a log-in starts one, and each
/// rotation adds the successor to it, so a token presented again after its
/// rotation revokes every token of its family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub digest: SecretDigest,
    pub user_id: UserId,
    pub credential_version: CredentialVersion,
    pub client_id: String,
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// The family's id (a random UUID); tokens from before families are
    /// each a family of their own, named by their digest.
    pub family: String,
    /// When it was rotated; a used token is never accepted again.
    pub used_at: Option<UnixTime>,
}

impl RefreshToken {
    /// A fresh refresh token and its record, starting a family, issued at
    /// `issued_at` for the credential version the user will have once the
    /// change lands.
    pub fn issue(
        user_id: UserId,
        credential_version: CredentialVersion,
        client_id: String,
        scope: String,
        issued_at: UnixTime,
        ttl: std::time::Duration,
    ) -> (BearerSecret, Self) {
        let token = BearerSecret::generate(REFRESH_TOKEN_PREFIX);
        let family = uuid::Uuid::new_v4().to_string();
        let stored = Self {
            digest: token.digest(),
            family,
            user_id,
            credential_version,
            client_id,
            scope,
            issued_at,
            expires_at: issued_at.plus(ttl),
            used_at: None,
        };
        (token, stored)
    }

    /// The token that replaces this one on rotation: same family, user,
    /// version and client, `scope` (at most this one's), a fresh lifetime.
    pub fn successor(
        &self,
        scope: String,
        issued_at: UnixTime,
        ttl: std::time::Duration,
    ) -> (BearerSecret, Self) {
        let (token, next) = Self::issue(
            self.user_id.clone(),
            self.credential_version,
            self.client_id.clone(),
            scope,
            issued_at,
            ttl,
        );
        let family = self.family.clone();
        (token, Self { family, ..next })
    }
}
