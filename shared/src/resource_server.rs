//! rekey as an OAuth resource server (RFC 6750; OpenID Connect Core 5.3,
//! userinfo): who an access token speaks for, while it is valid and its
//! account still is. A token issued before the account's last password
//! change (its `ver` behind the credential version) or for a disabled
//! account is refused like a forged one.

use std::sync::Arc;

use crate::access_token::verify::{Expectations, verify_access_token};
use crate::access_token::{PublicKeySet, SIGNING_KEY_VAR, SigningError};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::UserId;
use crate::error::ResetError;
use crate::store::AccountStore;

/// The claims userinfo answers with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserInfo {
    pub sub: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Verifies access tokens and answers for their accounts.
#[derive(Clone)]
pub struct ResourceServer {
    /// The keys tokens verify under: the signer's, or a key set of their
    /// own where nothing signs. None: userinfo answers 503.
    keys: Option<Arc<dyn PublicKeySet>>,
    accounts: Arc<dyn AccountStore>,
    /// The audiences a token may name here.
    audiences: Vec<String>,
    clock: Arc<dyn Clock>,
}

impl ResourceServer {
    pub fn new(config: &Config, accounts: Arc<dyn AccountStore>, clock: Arc<dyn Clock>) -> Self {
        // Every client's tokens speak for their account here, whichever
        // API (`aud`) they were issued for.
        let mut audiences = vec![config.session.audience.clone()];
        for client in config.oauth_clients.all() {
            if !audiences.contains(&client.audience) {
                audiences.push(client.audience.clone());
            }
        }
        Self {
            keys: None,
            accounts,
            audiences,
            clock,
        }
    }

    /// Verifies tokens with `keys`.
    pub fn with_keys(mut self, keys: Arc<dyn PublicKeySet>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The keys access tokens verify under, when there are any.
    pub fn keys(&self) -> Option<&Arc<dyn PublicKeySet>> {
        self.keys.as_ref()
    }

    /// The audiences an access token may name here: the recovery log-in's
    /// and every client's.
    pub fn token_audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Verifies `access_token` (issued by `issuer`) and answers for its
    /// account. Any flaw in the token or the account is `InvalidToken`; a
    /// key set or store that cannot be reached is `Unavailable`.
    pub async fn userinfo(&self, access_token: &str, issuer: &str) -> Result<UserInfo, ResetError> {
        let keys = self
            .keys
            .as_ref()
            .ok_or(SigningError::NotConfigured(SIGNING_KEY_VAR))?
            .published_keys()
            .await?;
        let expect = Expectations {
            issuer,
            audiences: &self.audiences,
            now: self.clock.now().secs(),
        };
        let token = verify_access_token(access_token, &keys, &expect).map_err(|why| {
            // The reason is for the operator; the client hears invalid_token.
            tracing::info!(reason = %why, "access token refused");
            ResetError::InvalidToken
        })?;
        let user_id = UserId::parse(&token.sub).ok_or(ResetError::InvalidToken)?;
        let user = self
            .accounts
            .user(&user_id)
            .await?
            .filter(|u| !u.disabled && u.credential_version.0 == token.ver)
            .ok_or(ResetError::InvalidToken)?;
        Ok(UserInfo {
            sub: user.id.to_string(),
            email: user.email.as_str().to_string(),
            name: user.name,
        })
    }
}
