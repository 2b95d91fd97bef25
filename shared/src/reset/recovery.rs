//! Log-in after account recovery: redeem a link token and leave with an
//! access token and a refresh token.

use crate::access_token::jwt::sign_access_token;
use crate::crypto::{BearerSecret, REFRESH_TOKEN_PREFIX};
use crate::domain::{ClientInfo, GrantPurpose, RefreshToken, User};
use crate::sign_in::{Grantee, Session};

use super::{ResetError, ResetService};

impl ResetService {
    /// Redeems a link token and logs the user in (the account-recovery
    /// contract): the refresh token is written in the same transaction as
    /// the new password. The access token is signed first, so a signer
    /// outage leaves the link unused; `issuer` is the `iss` it names.
    pub async fn reset_and_log_in(
        &self,
        raw_token: &str,
        raw_password: &str,
        client: &ClientInfo,
        issuer: &str,
    ) -> Result<Session, ResetError> {
        if self.directory.keeps_passwords() {
            return self
                .reset_and_sign_in(raw_token, raw_password, client)
                .await;
        }
        let signer = self.sessions.signer()?;
        let (_, user) = self.inspect_token(raw_token).await?;
        let policy = self.sessions.policy();
        let issued_at = self.clock.now();
        let next_version = user.credential_version.next();
        let grantee = Grantee {
            client_id: &policy.client_id,
            audience: &policy.audience,
            scope: &policy.scope,
        };
        let claims = self
            .sessions
            .claims(&user, next_version, &grantee, issuer, issued_at);
        let access_token = sign_access_token(signer.as_ref(), &claims).await?;
        let (refresh, stored) = RefreshToken::issue(
            user.id.clone(),
            next_version,
            policy.client_id.clone(),
            policy.scope.clone(),
            issued_at,
            policy.refresh_ttl,
        );
        self.redeem_token(
            raw_token,
            raw_password,
            Some(stored),
            GrantPurpose::AccountRecovery,
            client,
        )
        .await?;
        Ok(self.sessions.session(
            access_token,
            refresh,
            policy.client_id.clone(),
            policy.scope.clone(),
        ))
    }

    /// The log-in after recovery with a directory that keeps passwords: the
    /// directory's own tokens (a Cognito pool's, which APIs that trust the
    /// pool accept), signed in with the new password once it is set and
    /// every older session signed out. A directory that cannot sign in
    /// (no app client configured) is found out before the link is spent.
    async fn reset_and_sign_in(
        &self,
        raw_token: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<Session, ResetError> {
        self.directory.can_sign_in()?;
        let user = self
            .redeem_token(
                raw_token,
                raw_password,
                None,
                GrantPurpose::AccountRecovery,
                client,
            )
            .await?;
        let password = crate::password::NewPassword::normalize(raw_password);
        let signed_in = self
            .directory
            .sign_in(&user, &password)
            .await?
            .ok_or_else(|| {
                ResetError::Internal(Box::new(crate::error::Invariant(
                    "the directory issued no tokens",
                )))
            })?;
        Ok(Session {
            access_token: signed_in.access_token,
            expires_in: signed_in.expires_in,
            refresh_token: BearerSecret::issued_elsewhere(signed_in.refresh_token),
            client_id: signed_in.client_id,
            scope: signed_in.scope,
        })
    }

    /// The user a refresh token logs in, while it is valid: unexpired, not
    /// yet rotated, and issued under the user's current credential version.
    pub async fn refresh_token_user(&self, raw: &str) -> Result<User, ResetError> {
        let token = BearerSecret::parse(REFRESH_TOKEN_PREFIX, raw.trim())
            .ok_or(ResetError::InvalidToken)?;
        let stored = self
            .credentials
            .refresh_token(&token.digest())
            .await?
            .filter(|t| t.expires_at > self.clock.now() && t.used_at.is_none())
            .ok_or(ResetError::InvalidToken)?;
        self.find_user(&stored.user_id)
            .await?
            .filter(|u| !u.disabled && u.credential_version == stored.credential_version)
            .ok_or(ResetError::InvalidToken)
    }
}

#[cfg(test)]
#[cfg(all(feature = "embedded", feature = "local-signer"))]
mod tests {
    use std::sync::Arc;

    use crate::ResetError;
    use crate::access_token::AccessTokenSigner;
    use crate::access_token::local::LocalSigner;
    use crate::domain::{ClientInfo, GrantPurpose};
    use crate::testing::{NEW_PASSWORD, fixture_with};

    const ISSUER: &str = "https://id.example.com";

    #[tokio::test]
    async fn log_in_issues_an_rs256_at_jwt_and_a_session_that_dies_with_the_next_change() {
        let f = fixture_with(&[]).await;
        let signer = Arc::new(LocalSigner::ephemeral().unwrap());
        let service = f.app.clone().with_signer(signer.clone()).reset;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        let (token, _) = f
            .add_grant_for(&user, f.config.token_ttl, GrantPurpose::AccountRecovery)
            .await;
        let session = service
            .reset_and_log_in(token.expose(), NEW_PASSWORD, &client, ISSUER)
            .await
            .unwrap();

        let header = jsonwebtoken::decode_header(&session.access_token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let kid = signer.key_id().await.unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        let published = signer.published_keys().await.unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(published[0].key.jwk()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[&f.config.session.audience]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &session.access_token,
            &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        )
        .expect("the token verifies with the published key")
        .claims;
        assert_eq!(claims["sub"], user.id.as_str());
        assert_eq!(claims["ver"], user.credential_version.next().0);
        assert_eq!(claims["client_id"], f.config.session.client_id.as_str());
        assert_eq!(claims["scope"], f.config.session.scope.as_str());
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            f.config.session.access_ttl.as_secs() as i64
        );
        assert_eq!(claims["jti"].as_str().unwrap().len(), 36);
        assert_eq!(session.expires_in, f.config.session.access_ttl.as_secs());

        let raw_refresh = session.refresh_token.expose().to_string();
        let logged_in = service.refresh_token_user(&raw_refresh).await.unwrap();
        assert_eq!(logged_in.id, user.id);
        assert!(matches!(
            service.refresh_token_user("rkr_unknown").await,
            Err(ResetError::InvalidToken)
        ));

        // Another reset moves the credential version on: the session is void.
        let changed = f.reload(&user).await;
        let (token, _) = f.add_grant(&changed, f.config.token_ttl).await;
        service
            .reset_with_token(token.expose(), "Third-Lantern-77-Orbit", &client)
            .await
            .unwrap();
        assert!(matches!(
            service.refresh_token_user(&raw_refresh).await,
            Err(ResetError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn without_a_signer_the_link_is_left_unused() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let (token, _) = f
            .add_grant_for(&user, f.config.token_ttl, GrantPurpose::AccountRecovery)
            .await;
        let client = ClientInfo::default();
        let err = f
            .service
            .reset_and_log_in(token.expose(), NEW_PASSWORD, &client, ISSUER)
            .await
            .err()
            .expect("no signer, no log-in");
        assert!(
            matches!(&err, ResetError::Unavailable(cause) if cause.to_string().contains("REKEY_SIGNING_KEY")),
            "{err:?}"
        );
        let signed = f
            .app
            .clone()
            .with_signer(Arc::new(LocalSigner::ephemeral().unwrap()))
            .reset;
        assert!(
            signed
                .reset_and_log_in(token.expose(), NEW_PASSWORD, &client, ISSUER)
                .await
                .is_ok(),
            "the link still works once a signer is configured"
        );
    }
}
