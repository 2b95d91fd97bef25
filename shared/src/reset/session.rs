//! Log-in after account recovery: redeem a link token and leave with an
//! access token and a refresh token.

use crate::crypto::{BearerSecret, REFRESH_TOKEN_PREFIX};
use crate::domain::{ClientInfo, GrantPurpose, RefreshToken, User, expiry, now};

use super::{ResetError, ResetService};

/// Clock skew allowed when checking an access token's expiry, as is usual
/// for JWTs.
const LEEWAY_SECS: i64 = 60;

/// A log-in after account recovery: an access token and a refresh token.
pub struct Session {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: BearerSecret,
    pub client_id: String,
    pub scope: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub scope: String,
    /// The credential version: a verifier can refuse tokens issued before a
    /// password change.
    pub ver: u64,
}

impl ResetService {
    /// Redeems a link token and logs the user in (the account-recovery
    /// contract): the refresh token is written in the same transaction as
    /// the new password.
    pub async fn reset_and_log_in(
        &self,
        raw_token: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<Session, ResetError> {
        let session = &self.config.session;
        let (_, user) = self.inspect_token(raw_token).await?;
        let issued_at = now();
        let next_version = user.credential_version.next();
        let (refresh, stored) = RefreshToken::issue(
            user.id.clone(),
            next_version,
            session.client_id.clone(),
            session.scope.clone(),
            issued_at,
            session.refresh_ttl,
        );
        let user = self
            .redeem_token(
                raw_token,
                raw_password,
                Some(stored),
                GrantPurpose::AccountRecovery,
                client,
            )
            .await?;
        let claims = AccessClaims {
            sub: user.id.to_string(),
            iat: issued_at,
            exp: expiry(issued_at, session.access_ttl),
            iss: session.issuer.clone(),
            aud: session.audience.clone(),
            scope: session.scope.clone(),
            ver: next_version.0,
        };
        Ok(Session {
            access_token: self.sign_access_token(&claims)?,
            expires_in: session.access_ttl.as_secs(),
            refresh_token: refresh,
            client_id: session.client_id.clone(),
            scope: session.scope.clone(),
        })
    }

    /// HS256 under a key derived from the service secret for this purpose.
    pub fn sign_access_token(&self, claims: &AccessClaims) -> Result<String, ResetError> {
        let key = self.config.keys.derived_key("access-token");
        crate::crypto::hs256::sign(key.as_ref(), claims)
            .map_err(|e| ResetError::Internal(e.to_string()))
    }

    /// Verifies an access token's signature, expiry (`LEEWAY_SECS` of clock
    /// skew allowed), issuer and audience.
    pub fn verify_access_token(&self, token: &str) -> Result<AccessClaims, ResetError> {
        let session = &self.config.session;
        let key = self.config.keys.derived_key("access-token");
        let claims: AccessClaims =
            crate::crypto::hs256::verify(key.as_ref(), token).ok_or(ResetError::InvalidToken)?;
        let valid = claims.exp + LEEWAY_SECS > now()
            && claims.iss == session.issuer
            && claims.aud == session.audience;
        if valid {
            Ok(claims)
        } else {
            Err(ResetError::InvalidToken)
        }
    }

    /// The user a refresh token logs in, while it is valid: unexpired and
    /// issued under the user's current credential version.
    pub async fn refresh_token_user(&self, raw: &str) -> Result<User, ResetError> {
        let token = BearerSecret::parse(REFRESH_TOKEN_PREFIX, raw.trim())
            .ok_or(ResetError::InvalidToken)?;
        let stored = self
            .store
            .refresh_token(&token.digest())
            .await?
            .filter(|t| t.expires_at > now())
            .ok_or(ResetError::InvalidToken)?;
        self.store
            .user(&stored.user_id)
            .await?
            .filter(|u| !u.disabled && u.credential_version == stored.credential_version)
            .ok_or(ResetError::InvalidToken)
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::super::testing::{NEW_PASSWORD, fixture_with};
    use super::AccessClaims;
    use crate::ResetError;
    use crate::domain::{ClientInfo, GrantPurpose, now};

    fn claims(exp: i64, iss: &str, aud: &str) -> AccessClaims {
        AccessClaims {
            sub: "u".into(),
            iat: now(),
            exp,
            iss: iss.into(),
            aud: aud.into(),
            scope: "s".into(),
            ver: 1,
        }
    }

    #[tokio::test]
    async fn access_tokens_verify_within_leeway_for_this_issuer_and_audience() {
        let f = fixture_with(&[]).await;
        let s = &f.config.session;
        let sign = |exp, iss: &str, aud: &str| {
            f.service.sign_access_token(&claims(exp, iss, aud)).unwrap()
        };
        let t = now();
        assert!(
            f.service
                .verify_access_token(&sign(t + 300, &s.issuer, &s.audience))
                .is_ok()
        );
        // Expired half a minute ago: inside the leeway.
        assert!(
            f.service
                .verify_access_token(&sign(t - 30, &s.issuer, &s.audience))
                .is_ok()
        );
        for token in [
            sign(t - 120, &s.issuer, &s.audience),
            sign(t + 300, "https://elsewhere.example", &s.audience),
            sign(t + 300, &s.issuer, "someone-else"),
            "not.a.jwt".to_string(),
        ] {
            assert!(matches!(
                f.service.verify_access_token(&token),
                Err(ResetError::InvalidToken)
            ));
        }
    }

    #[tokio::test]
    async fn log_in_issues_a_session_that_dies_with_the_next_change() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        let (token, _) = f
            .add_grant_for(&user, f.config.token_ttl, GrantPurpose::AccountRecovery)
            .await;
        let session = f
            .service
            .reset_and_log_in(token.expose(), NEW_PASSWORD, &client)
            .await
            .unwrap();
        let claims = f
            .service
            .verify_access_token(&session.access_token)
            .unwrap();
        assert_eq!(claims.sub, user.id.as_str());
        assert_eq!(claims.ver, user.credential_version.next().0);
        assert_eq!(session.expires_in, f.config.session.access_ttl.as_secs());
        let raw_refresh = session.refresh_token.expose().to_string();
        let logged_in = f.service.refresh_token_user(&raw_refresh).await.unwrap();
        assert_eq!(logged_in.id, user.id);
        assert!(matches!(
            f.service.refresh_token_user("rkr_unknown").await,
            Err(ResetError::InvalidToken)
        ));

        // Another reset moves the credential version on: the session is void.
        let changed = f.reload(&user).await;
        let (token, _) = f.add_grant(&changed, f.config.token_ttl).await;
        f.service
            .reset_with_token(token.expose(), "Third-Lantern-77-Orbit", &client)
            .await
            .unwrap();
        assert!(matches!(
            f.service.refresh_token_user(&raw_refresh).await,
            Err(ResetError::InvalidToken)
        ));
    }
}
