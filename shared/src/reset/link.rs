//! Link tokens: a mailed single-use token, redeemed to set a new password.

use crate::crypto::{BearerSecret, LINK_TOKEN_PREFIX};
use crate::domain::{ClientInfo, EmailAddress, Redemption, RefreshToken, ResetGrant, User, now};
use crate::link::LinkTemplate;

use super::change::SetPasswordError;
use super::{ResetError, ResetService};

impl ResetService {
    /// Delivers the address request `intake`: issues a link token and
    /// queues its mail when the address has an active account, in one write
    /// with the request's removal. `link` chooses where the link points
    /// (Payabli's entry, or recovery). False when the request was delivered
    /// already.
    pub(super) async fn request_link(
        &self,
        email: &EmailAddress,
        link: &LinkTemplate,
        client: &ClientInfo,
        intake: &str,
    ) -> Result<bool, ResetError> {
        let Some(user) = self.active_account(email, "reset link").await? else {
            return self.complete_intake(intake, None, None).await;
        };
        let (token, grant) = ResetGrant::issue(
            user.id.clone(),
            user.credential_version,
            self.config.token_ttl,
        );
        let url = link.render(&[("token", token.expose())]);
        let mail = self.reset_mail(&user, url, None, grant.expires_at, client);
        if !self
            .complete_intake(intake, Some(&grant), Some(&mail))
            .await?
        {
            return Ok(false);
        }
        tracing::info!(user_id = %user.id, outbox_id = %mail.id, "reset link issued");
        self.mail_queued();
        Ok(true)
    }

    /// The grant and user a link token stands for, if it may still be used.
    /// Never consumes the token: mail scanners open links.
    pub async fn inspect_token(&self, raw: &str) -> Result<(ResetGrant, User), ResetError> {
        let token =
            BearerSecret::parse(LINK_TOKEN_PREFIX, raw.trim()).ok_or(ResetError::InvalidToken)?;
        let grant = self
            .store
            .grant(&token.digest())
            .await?
            .ok_or(ResetError::InvalidToken)?;
        if grant.used_at.is_some() {
            return Err(ResetError::UsedToken);
        }
        if grant.is_expired(now()) {
            return Err(ResetError::InvalidToken);
        }
        let user = self
            .store
            .user(&grant.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ResetError::InvalidToken)?;
        if user.credential_version != grant.credential_version {
            // A password change may have landed between the two reads; if it
            // was this grant's own redemption, the token is used, not void.
            let again = self.store.grant(&token.digest()).await?;
            return Err(match again {
                Some(g) if g.used_at.is_some() => ResetError::UsedToken,
                _ => ResetError::InvalidToken,
            });
        }
        Ok((grant, user))
    }

    /// Redeems a link token: checks the password, then consumes the token and
    /// writes the new hash in one conditional transaction.
    pub async fn reset_with_token(
        &self,
        raw_token: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        self.redeem_token(raw_token, raw_password, None, client)
            .await
    }

    /// The redemption both a plain reset and a log-in after recovery make;
    /// `session` is written with the password when there is one.
    pub(super) async fn redeem_token(
        &self,
        raw_token: &str,
        raw_password: &str,
        session: Option<RefreshToken>,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        let (grant, user) = self.inspect_token(raw_token).await?;
        let password = self.check_password(raw_password, Some(&user)).await?;
        let action = if session.is_some() {
            "account_recovery"
        } else {
            "password_reset_link"
        };
        match self
            .set_password(
                &user,
                password,
                Redemption::Grant(grant.digest),
                session,
                action,
                client,
            )
            .await
        {
            Ok(_) => Ok(user),
            // Lost a race: say what the winner left behind.
            Err(SetPasswordError::LostRace) => Err(match self.inspect_token(raw_token).await {
                Err(e) => e,
                Ok(_) => ResetError::InvalidToken,
            }),
            Err(SetPasswordError::Reset(e)) => Err(e),
        }
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use std::time::Duration;

    use super::super::testing::{NEW_PASSWORD, OLD_PASSWORD, fixture_with};
    use crate::ResetError;
    use crate::domain::ClientInfo;

    #[tokio::test]
    async fn a_fresh_token_inspects_without_being_consumed() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let (token, issued) = f.add_grant(&user, Duration::from_secs(600)).await;
        for _ in 0..2 {
            let (g, u) = f.service.inspect_token(token.expose()).await.unwrap();
            assert_eq!((g, u.id), (issued.clone(), user.id.clone()));
        }
        // Surrounding whitespace from a pasted link is tolerated.
        let padded = format!(" {}\n", token.expose());
        assert!(f.service.inspect_token(&padded).await.is_ok());
    }

    #[tokio::test]
    async fn malformed_unknown_and_expired_tokens_are_invalid() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        for raw in [
            "",
            "rkt_",
            "not-a-token",
            "rkt_unknown-but-well-formed-0000000000",
        ] {
            assert!(matches!(
                f.service.inspect_token(raw).await,
                Err(ResetError::InvalidToken)
            ));
        }
        // A zero lifetime expires at the moment of issue.
        let (token, _) = f.add_grant(&user, Duration::ZERO).await;
        assert!(matches!(
            f.service.inspect_token(token.expose()).await,
            Err(ResetError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn a_redeemed_token_is_used_and_others_are_voided() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let (first, _) = f.add_grant(&user, Duration::from_secs(600)).await;
        let (second, _) = f.add_grant(&user, Duration::from_secs(600)).await;
        let client = ClientInfo::default();
        f.service
            .reset_with_token(first.expose(), NEW_PASSWORD, &client)
            .await
            .unwrap();
        assert!(matches!(
            f.service.inspect_token(first.expose()).await,
            Err(ResetError::UsedToken)
        ));
        assert!(matches!(
            f.service
                .reset_with_token(first.expose(), OLD_PASSWORD, &client)
                .await,
            Err(ResetError::UsedToken)
        ));
        // Issued under the old credential version: void, not used.
        assert!(matches!(
            f.service.inspect_token(second.expose()).await,
            Err(ResetError::InvalidToken)
        ));
        let changed = f.reload(&user).await;
        assert_eq!(changed.credential_version, user.credential_version.next());
    }

    #[tokio::test]
    async fn a_disabled_account_voids_its_tokens() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let (token, _) = f.add_grant(&user, Duration::from_secs(600)).await;
        f.service
            .store
            .set_user_disabled(&user.id, true)
            .await
            .unwrap();
        assert!(matches!(
            f.service.inspect_token(token.expose()).await,
            Err(ResetError::InvalidToken)
        ));
    }

    #[tokio::test]
    async fn a_weak_password_leaves_the_token_usable() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let (token, _) = f.add_grant(&user, Duration::from_secs(600)).await;
        assert!(matches!(
            f.service
                .reset_with_token(token.expose(), "short", &ClientInfo::default())
                .await,
            Err(ResetError::WeakPassword(_))
        ));
        assert!(f.service.inspect_token(token.expose()).await.is_ok());
    }
}
