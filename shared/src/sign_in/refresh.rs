//! `grant_type=refresh_token`: rotation with reuse detection. Each
//! rotation adds the successor to the token's family; a token presented
//! again after its rotation revokes the whole family.

use super::{Grantee, Session, SignInService, granted_scope};
use crate::access_token::jwt::sign_access_token;
use crate::config::OAuthClient;
use crate::domain::RefreshToken;
use crate::error::{ResetError, TokenRefusal};
use crate::store::StoreError;

impl SignInService {
    /// Rotates the token (one winner among concurrent uses); a token
    /// presented after its rotation revokes its family. The scope may
    /// narrow the access token's, never widen it.
    pub async fn refresh_session(
        &self,
        client: &OAuthClient,
        raw: &str,
        scope: Option<&str>,
        issuer: &str,
    ) -> Result<Session, ResetError> {
        let signer = self.sessions.signer()?;
        let stored = self
            .stored_refresh_token(raw)
            .await?
            .filter(|t| t.client_id == client.id)
            .ok_or(TokenRefusal::InvalidGrant)?;
        if stored.used_at.is_some() {
            return self.refuse_reuse(&stored).await;
        }
        let at = self.clock.now();
        if stored.expires_at <= at {
            return Err(TokenRefusal::InvalidGrant.into());
        }
        let user = self
            .directory
            .user(&stored.user_id)
            .await?
            .filter(|u| !u.disabled && u.credential_version == stored.credential_version)
            .ok_or(TokenRefusal::InvalidGrant)?;
        let granted: Vec<&str> = stored.scope.split(' ').collect();
        let scope = granted_scope(scope, &granted, &granted)?;
        // Signed before the rotation: a signer outage leaves the token usable.
        let grantee = Grantee {
            client_id: &client.id,
            audience: &client.audience,
            scope: &scope,
        };
        let claims = self
            .sessions
            .claims(&user, user.credential_version, &grantee, issuer, at);
        let access_token = sign_access_token(signer.as_ref(), &claims).await?;
        let refresh_ttl = self.sessions.policy().refresh_ttl;
        let (next, successor) = stored.successor(stored.scope.clone(), at, refresh_ttl);
        match self
            .refresh_tokens
            .rotate_refresh_token(&stored, &successor)
            .await
        {
            Ok(()) => Ok(self
                .sessions
                .session(access_token, next, client.id.clone(), scope)),
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

    async fn refuse_reuse(&self, token: &RefreshToken) -> Result<Session, ResetError> {
        tracing::warn!(
            user_id = %token.user_id,
            client_id = %token.client_id,
            "rotated refresh token presented again; its family is revoked"
        );
        self.revoke_family(token).await?;
        Err(TokenRefusal::InvalidGrant.into())
    }
}
