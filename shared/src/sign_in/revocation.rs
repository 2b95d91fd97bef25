//! Token revocation (RFC 7009): a refresh token revokes its family.

use super::SignInService;
use crate::config::OAuthClient;
use crate::domain::RefreshToken;
use crate::error::ResetError;

impl SignInService {
    /// Revokes the family of a refresh token issued to `client`. Anything
    /// else (unknown, expired, another client's, an access token) changes
    /// nothing and is no error.
    pub async fn revoke_token(&self, client: &OAuthClient, raw: &str) -> Result<(), ResetError> {
        match self.stored_refresh_token(raw).await? {
            Some(t) if t.client_id == client.id => self.revoke_family(&t).await,
            _ => Ok(()),
        }
    }

    /// Revokes every token of `token`'s family, kept while any member
    /// could still be presented.
    pub(super) async fn revoke_family(&self, token: &RefreshToken) -> Result<(), ResetError> {
        let at = self.clock.now();
        let until = at
            .plus(self.sessions.policy().refresh_ttl)
            .max(token.expires_at);
        self.refresh_tokens
            .revoke_refresh_family(&token.family, at, until)
            .await?;
        Ok(())
    }
}
