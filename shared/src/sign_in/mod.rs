//! Sign-in at the OAuth token endpoint (RFC 6749): the password grant
//! (first-party clients only), refresh-token rotation with reuse detection
//! (`refresh.rs`), and revocation (RFC 7009, `revocation.rs`). One file per
//! grant, each an `impl SignInService` block; `sessions.rs` starts the
//! sessions, which the account-recovery log-in shares.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{
    ClientAuthMethod, Config, OAuthClient, OAuthClients, PresentedClient, is_scope_token,
};
use crate::crypto::{BearerSecret, REFRESH_TOKEN_PREFIX, ServiceKeys};
use crate::directory::Directory;
use crate::domain::RefreshToken;
use crate::error::{ResetError, TokenRefusal};
use crate::guard::PasswordGuard;
use crate::store::CredentialStore;

mod password_grant;
mod refresh;
mod revocation;
mod sessions;

pub use sessions::{Grantee, Session, Sessions};

/// The token and revocation endpoints' service.
#[derive(Clone)]
pub struct SignInService {
    /// The clients the endpoints serve: the recovery log-in's, then
    /// `REKEY_OAUTH_CLIENTS`.
    clients: OAuthClients,
    sessions: Sessions,
    /// Where accounts are looked up (the password grant needs rekey's own
    /// hashes: with a pool it is refused).
    directory: Arc<dyn Directory>,
    passwords: PasswordGuard,
    /// The refresh tokens: issued, rotated and revoked here.
    refresh_tokens: Arc<dyn CredentialStore>,
    /// An unknown address's attempts count under its keyed reference.
    keys: ServiceKeys,
    clock: Arc<dyn Clock>,
}

impl SignInService {
    /// The clients and the keys are the configuration's.
    pub fn new(
        config: &Config,
        sessions: Sessions,
        directory: Arc<dyn Directory>,
        passwords: PasswordGuard,
        refresh_tokens: Arc<dyn CredentialStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            clients: config.oauth_clients.clone(),
            keys: config.keys.clone(),
            sessions,
            directory,
            passwords,
            refresh_tokens,
            clock,
        }
    }

    /// The configured client `presented` names and proves.
    pub fn authenticate_client(
        &self,
        presented: &PresentedClient,
    ) -> Result<&OAuthClient, ResetError> {
        let basic = presented.method == ClientAuthMethod::ClientSecretBasic;
        self.clients
            .find(&presented.id)
            .filter(|c| c.accepts(presented))
            .ok_or(ResetError::Token(TokenRefusal::InvalidClient { basic }))
    }

    /// The refresh token `raw` stands for, if any is stored.
    async fn stored_refresh_token(&self, raw: &str) -> Result<Option<RefreshToken>, ResetError> {
        let Some(token) = BearerSecret::parse(REFRESH_TOKEN_PREFIX, raw.trim()) else {
            return Ok(None);
        };
        Ok(self.refresh_tokens.refresh_token(&token.digest()).await?)
    }
}

/// The scope granted for `requested` (space-separated) out of `allowed`,
/// or `default` when none is asked for: `invalid_scope` for anything
/// outside `allowed` or not a scope token.
fn granted_scope(
    requested: Option<&str>,
    allowed: &[&str],
    default: &[&str],
) -> Result<String, TokenRefusal> {
    let Some(requested) = requested else {
        return Ok(default.join(" "));
    };
    let mut granted: Vec<&str> = Vec::new();
    for s in requested.split(' ') {
        if !is_scope_token(s) || !allowed.contains(&s) {
            return Err(TokenRefusal::InvalidScope);
        }
        if !granted.contains(&s) {
            granted.push(s);
        }
    }
    Ok(granted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::{TokenRefusal, granted_scope};

    #[test]
    fn scope_is_a_subset_of_what_is_allowed() {
        let allowed = ["read", "write"];
        assert_eq!(granted_scope(None, &allowed, &["read"]).unwrap(), "read");
        assert_eq!(
            granted_scope(Some("write read write"), &allowed, &["read"]).unwrap(),
            "write read"
        );
        for bad in [
            "admin",
            "read admin",
            "",
            "read  write",
            "re\"ad",
            "read\twrite",
        ] {
            assert_eq!(
                granted_scope(Some(bad), &allowed, &["read"]),
                Err(TokenRefusal::InvalidScope),
                "{bad:?}"
            );
        }
    }
}
