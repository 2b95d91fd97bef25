//! Starting a log-in session: the access token (an RS256 JWT in the RFC
//! 9068 profile, signed by the configured signer) and the refresh token
//! beside it. The token endpoint's sign-in and the account-recovery
//! contract's log-in both start theirs here.

use std::sync::Arc;

use crate::access_token::{AccessClaims, AccessTokenSigner, SIGNING_KEY_VAR, SigningError};
use crate::config::SessionPolicy;
use crate::crypto::BearerSecret;
use crate::domain::{CredentialVersion, UnixTime, User};

/// A log-in: an access token and a refresh token.
pub struct Session {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: BearerSecret,
    pub client_id: String,
    pub scope: String,
}

/// Who a session's token is for: the client, its audience and the scope.
pub struct Grantee<'a> {
    pub client_id: &'a str,
    pub audience: &'a str,
    pub scope: &'a str,
}

/// Signs access tokens under the configured policy.
#[derive(Clone)]
pub struct Sessions {
    /// None where the function issues no token: a log-in then answers 503.
    signer: Option<Arc<dyn AccessTokenSigner>>,
    policy: SessionPolicy,
}

impl Sessions {
    pub fn new(policy: SessionPolicy) -> Self {
        Self {
            signer: None,
            policy,
        }
    }

    pub fn with_signer(mut self, signer: Arc<dyn AccessTokenSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The log-in after recovery: issuer, audience, client, lifetimes.
    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// The access-token signer; a deployment without one answers 503 and
    /// logs the variable to set.
    pub fn signer(&self) -> Result<&Arc<dyn AccessTokenSigner>, SigningError> {
        self.signer
            .as_ref()
            .ok_or(SigningError::NotConfigured(SIGNING_KEY_VAR))
    }

    /// The claims of an access token for `user` at `version`, issued at
    /// `issued_at` by `issuer` for `grantee`.
    pub(crate) fn claims(
        &self,
        user: &User,
        version: CredentialVersion,
        grantee: &Grantee<'_>,
        issuer: &str,
        issued_at: UnixTime,
    ) -> AccessClaims {
        AccessClaims {
            iss: issuer.to_string(),
            sub: user.id.to_string(),
            aud: grantee.audience.to_string(),
            exp: issued_at.plus(self.policy.access_ttl).secs(),
            iat: issued_at.secs(),
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: grantee.client_id.to_string(),
            scope: grantee.scope.to_string(),
            ver: version.0,
        }
    }

    /// The session a client is answered with.
    pub(crate) fn session(
        &self,
        access_token: String,
        refresh_token: BearerSecret,
        client_id: String,
        scope: String,
    ) -> Session {
        Session {
            access_token,
            expires_in: self.policy.access_ttl.as_secs(),
            refresh_token,
            client_id,
            scope,
        }
    }
}
