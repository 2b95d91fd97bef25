//! `grant_type=password`: first-party clients sign a user in with the
//! user's password.

use super::{Grantee, Session, SignInService, granted_scope};
use crate::access_token::jwt::sign_access_token;
use crate::config::OAuthClient;
use crate::domain::{ClientInfo, EmailAddress, RefreshToken};
use crate::error::{ResetError, TokenRefusal};
use crate::guard::PasswordGuard;

impl SignInService {
    /// The same refusal, store calls and argon2id work for a wrong
    /// password, an unknown address and a disabled account; password
    /// comparisons are limited per account and source, and unknown
    /// addresses are counted under the address's reference.
    pub async fn sign_in_with_password(
        &self,
        client: &OAuthClient,
        username: &str,
        password: &str,
        scope: Option<&str>,
        caller: &ClientInfo,
        issuer: &str,
    ) -> Result<Session, ResetError> {
        if !client.first_party {
            return Err(TokenRefusal::UnauthorizedClient.into());
        }
        let allowed: Vec<&str> = client.scopes.iter().map(String::as_str).collect();
        let default: Vec<&str> = client.default_scope.iter().map(String::as_str).collect();
        let scope = granted_scope(scope, &allowed, &default)?;
        if self.directory.keeps_passwords() {
            return Err(TokenRefusal::PasswordGrantUnavailable.into());
        }
        let signer = self.sessions.signer()?;
        let user = match EmailAddress::parse(username) {
            Some(email) => self.directory.user_by_email(&email).await?,
            None => None,
        };
        let verified = match &user {
            Some(u) if !u.disabled && u.password_hash.is_some() => {
                self.passwords.verify(u, password, caller).await?
            }
            Some(u) => {
                self.passwords
                    .refuse_without_a_hash(&PasswordGuard::counter(u), password, caller)
                    .await?;
                false
            }
            None => {
                let account = self.keys.log_ref(&username.trim().to_lowercase());
                self.passwords
                    .refuse_without_a_hash(&format!("password:unknown:{account}"), password, caller)
                    .await?;
                false
            }
        };
        let user = match (user, verified) {
            (Some(u), true) => u,
            _ => return Err(TokenRefusal::InvalidGrant.into()),
        };
        let issued_at = self.clock.now();
        let grantee = Grantee {
            client_id: &client.id,
            audience: &client.audience,
            scope: &scope,
        };
        let claims =
            self.sessions
                .claims(&user, user.credential_version, &grantee, issuer, issued_at);
        let access_token = sign_access_token(signer.as_ref(), &claims).await?;
        let (refresh, stored) = RefreshToken::issue(
            user.id.clone(),
            user.credential_version,
            client.id.clone(),
            scope.clone(),
            issued_at,
            self.sessions.policy().refresh_ttl,
        );
        self.refresh_tokens.insert_refresh_token(&stored).await?;
        tracing::info!(user_id = %user.id, client_id = %client.id, "signed in with a password");
        Ok(self
            .sessions
            .session(access_token, refresh, client.id.clone(), scope))
    }
}
