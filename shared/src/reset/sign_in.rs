//! Sign-in at the OAuth token endpoint: the password grant (first-party
//! clients only), refresh-token rotation with reuse detection, and
//! revocation. The log-in after recovery (session.rs) starts a family the
//! same way.

use crate::config::{OAuthClient, PresentedClient, is_scope_token};
use crate::crypto::{BearerSecret, REFRESH_TOKEN_PREFIX};
use crate::domain::{ClientInfo, EmailAddress, RefreshToken, User, expiry, now};
use crate::password::Verification;
use crate::signing::AccessClaims;
use crate::signing::jwt::sign_access_token;
use crate::store::StoreError;

use super::{ResetError, ResetService, Session};

/// Why the token or revocation endpoint refuses a request, in the terms of
/// RFC 6749 5.2; each contract's dialect renders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// Unknown client, wrong secret or wrong method; `basic` when the
    /// request used HTTP Basic (the answer then names the scheme).
    #[error("client authentication failed")]
    InvalidClient { basic: bool },
    #[error("this client may not use this grant")]
    UnauthorizedClient,
    /// Wrong credentials, or a refresh token that is unknown, expired,
    /// rotated, revoked or voided by a password change.
    #[error("the credentials or the refresh token are invalid")]
    InvalidGrant,
    #[error("the requested scope is invalid or exceeds what was granted")]
    InvalidScope,
    #[error("the grant type is not supported")]
    UnsupportedGrantType,
    /// The accounts live in a directory that keeps the passwords (a
    /// Cognito pool): rekey has no hash to check, sign in at the pool.
    #[error(
        "the password grant is not available: accounts live in a Cognito user pool, sign in against the pool"
    )]
    PasswordGrantUnavailable,
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

impl ResetService {
    /// The configured client `presented` names and proves.
    pub fn authenticate_client(
        &self,
        presented: &PresentedClient,
    ) -> Result<&OAuthClient, ResetError> {
        let basic = presented.method == crate::config::ClientAuthMethod::ClientSecretBasic;
        self.config
            .oauth_clients
            .find(&presented.id)
            .filter(|c| c.accepts(presented))
            .ok_or(ResetError::Token(TokenRefusal::InvalidClient { basic }))
    }

    /// `grant_type=password`: the same refusal, store calls and argon2id
    /// work for a wrong password, an unknown address and a disabled
    /// account; password comparisons are limited per account and source,
    /// and unknown addresses are counted under the address's reference.
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
        if self.directory().keeps_passwords() {
            return Err(TokenRefusal::PasswordGrantUnavailable.into());
        }
        let signer = self.signer()?;
        let user = match EmailAddress::parse(username) {
            Some(email) => self.directory().user_by_email(&email).await?,
            None => None,
        };
        let verified = match &user {
            Some(u) if !u.disabled && u.password_hash.is_some() => {
                self.verify_password(u, password, caller).await?
            }
            Some(u) => {
                self.limit_password_attempts(u, caller).await?;
                self.compare_with_dummy(password).await?;
                false
            }
            None => {
                let account = self.config.keys.log_ref(&username.trim().to_lowercase());
                self.limit_password_attempts_on(&format!("password:unknown:{account}"), caller)
                    .await?;
                self.compare_with_dummy(password).await?;
                false
            }
        };
        let user = match (user, verified) {
            (Some(u), true) => u,
            _ => return Err(TokenRefusal::InvalidGrant.into()),
        };
        let issued_at = now();
        let access_token = sign_access_token(
            signer.as_ref(),
            &self.access_claims(&user, client, &scope, issuer, issued_at),
        )
        .await?;
        let (refresh, stored) = RefreshToken::issue(
            user.id.clone(),
            user.credential_version,
            client.id.clone(),
            scope.clone(),
            issued_at,
            self.config.session.refresh_ttl,
        );
        self.store.insert_refresh_token(&stored).await?;
        tracing::info!(user_id = %user.id, client_id = %client.id, "signed in with a password");
        Ok(self.session_of(access_token, refresh, client, scope))
    }

    /// `grant_type=refresh_token`: rotates the token (one winner among
    /// concurrent uses); a token presented after its rotation revokes its
    /// family. The scope may narrow the access token's, never widen it.
    pub async fn refresh_session(
        &self,
        client: &OAuthClient,
        raw: &str,
        scope: Option<&str>,
        issuer: &str,
    ) -> Result<Session, ResetError> {
        let signer = self.signer()?;
        let stored = self
            .stored_refresh_token(raw)
            .await?
            .filter(|t| t.client_id == client.id)
            .ok_or(TokenRefusal::InvalidGrant)?;
        if stored.used_at.is_some() {
            return self.refuse_reuse(&stored).await;
        }
        let at = now();
        if stored.expires_at <= at {
            return Err(TokenRefusal::InvalidGrant.into());
        }
        let user = self
            .directory()
            .user(&stored.user_id)
            .await?
            .filter(|u| !u.disabled && u.credential_version == stored.credential_version)
            .ok_or(TokenRefusal::InvalidGrant)?;
        let granted: Vec<&str> = stored.scope.split(' ').collect();
        let scope = granted_scope(scope, &granted, &granted)?;
        // Signed before the rotation: a signer outage leaves the token usable.
        let access_token = sign_access_token(
            signer.as_ref(),
            &self.access_claims(&user, client, &scope, issuer, at),
        )
        .await?;
        let (next, successor) =
            stored.successor(stored.scope.clone(), at, self.config.session.refresh_ttl);
        match self
            .store
            .rotate_refresh_token(&stored, &successor, at)
            .await
        {
            Ok(()) => Ok(self.session_of(access_token, next, client, scope)),
            Err(StoreError::Conflict(_)) => {
                // Lost to another use of the same token, or revoked or
                // voided meanwhile: a rotated token means reuse.
                match self.stored_refresh_token(raw).await? {
                    Some(t) if t.used_at.is_some() => self.refuse_reuse(&t).await,
                    _ => Err(TokenRefusal::InvalidGrant.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// RFC 7009: revokes the family of a refresh token issued to `client`.
    /// Anything else (unknown, expired, another client's, an access token)
    /// changes nothing and is no error.
    pub async fn revoke_token(&self, client: &OAuthClient, raw: &str) -> Result<(), ResetError> {
        match self.stored_refresh_token(raw).await? {
            Some(t) if t.client_id == client.id => self.revoke_family(&t).await,
            _ => Ok(()),
        }
    }

    async fn stored_refresh_token(&self, raw: &str) -> Result<Option<RefreshToken>, ResetError> {
        let Some(token) = BearerSecret::parse(REFRESH_TOKEN_PREFIX, raw.trim()) else {
            return Ok(None);
        };
        Ok(self.store.refresh_token(&token.digest()).await?)
    }

    async fn refuse_reuse(&self, token: &RefreshToken) -> Result<Session, ResetError> {
        tracing::warn!(
            user_id = %token.user_id,
            client_id = %token.client_id,
            "rotated refresh token presented again; its family is revoked"
        );
        self.revoke_family(token).await?;
        Err(TokenRefusal::InvalidGrant.into())
    }

    async fn revoke_family(&self, token: &RefreshToken) -> Result<(), ResetError> {
        let at = now();
        // Kept while any member could still be presented.
        let until = expiry(at, self.config.session.refresh_ttl).max(token.expires_at);
        self.store
            .revoke_refresh_family(&token.family, at, until)
            .await?;
        Ok(())
    }

    fn access_claims(
        &self,
        user: &User,
        client: &OAuthClient,
        scope: &str,
        issuer: &str,
        issued_at: i64,
    ) -> AccessClaims {
        AccessClaims {
            iss: issuer.to_string(),
            sub: user.id.to_string(),
            aud: client.audience.clone(),
            exp: expiry(issued_at, self.config.session.access_ttl),
            iat: issued_at,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client.id.clone(),
            scope: scope.to_string(),
            ver: user.credential_version.0,
        }
    }

    fn session_of(
        &self,
        access_token: String,
        refresh_token: BearerSecret,
        client: &OAuthClient,
        scope: String,
    ) -> Session {
        Session {
            access_token,
            expires_in: self.config.session.access_ttl.as_secs(),
            refresh_token,
            client_id: client.id.clone(),
            scope,
        }
    }

    /// The comparison a sign-in without an account to check makes: the
    /// same work as one with an account, whatever its hash
    /// (`CredentialHasher::verify_uniform`).
    async fn compare_with_dummy(&self, password: &str) -> Result<(), ResetError> {
        let hasher = self.hasher.clone();
        let password = zeroize::Zeroizing::new(password.to_string());
        tokio::task::spawn_blocking(move || {
            let (verdict, _) = hasher.verify_uniform(&password, None);
            debug_assert_eq!(verdict, Verification::Mismatch);
        })
        .await
        .map_err(|e| ResetError::Internal(e.to_string()))
    }
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
