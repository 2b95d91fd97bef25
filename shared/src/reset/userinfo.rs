//! The userinfo flow (OpenID Connect Core 5.3): who an access token speaks
//! for, while it is valid and its account still is. A token issued before
//! the account's last password change (its `ver` behind the credential
//! version) or for a disabled account is refused like a forged one.

use crate::domain::UserId;
use crate::signing::verify::{Expectations, verify_access_token};
use crate::signing::{SIGNING_KEY_VAR, SigningError};

use super::{ResetError, ResetService};

/// The claims userinfo answers with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserInfo {
    pub sub: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ResetService {
    /// The audiences an access token may name here: the one the log-in
    /// issues tokens for.
    pub fn token_audiences(&self) -> Vec<String> {
        // Every client's tokens speak for their account here, whichever
        // API (`aud`) they were issued for.
        let mut audiences = vec![self.config.session.audience.clone()];
        for client in self.config.oauth_clients.all() {
            if !audiences.contains(&client.audience) {
                audiences.push(client.audience.clone());
            }
        }
        audiences
    }

    /// Verifies `access_token` (issued by `issuer`) and answers for its
    /// account. Any flaw in the token or the account is `InvalidToken`; a
    /// key set or store that cannot be reached is `Unavailable`.
    pub async fn userinfo(&self, access_token: &str, issuer: &str) -> Result<UserInfo, ResetError> {
        let keys = self
            .public_keys
            .as_ref()
            .ok_or(SigningError::NotConfigured(SIGNING_KEY_VAR))?
            .published_keys()
            .await?;
        let audiences = self.token_audiences();
        let expect = Expectations {
            issuer,
            audiences: &audiences,
            now: self.clock.now().secs(),
        };
        let token = verify_access_token(access_token, &keys, &expect).map_err(|why| {
            // The reason is for the operator; the client hears invalid_token.
            tracing::info!(reason = %why, "access token refused");
            ResetError::InvalidToken
        })?;
        let user_id = UserId::parse(&token.sub).ok_or(ResetError::InvalidToken)?;
        let user = self
            .store
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
