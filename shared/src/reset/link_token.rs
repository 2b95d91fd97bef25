//! Link tokens: a mailed single-use token, redeemed to set a new password.

use crate::crypto::{BearerSecret, LINK_TOKEN_PREFIX};
use crate::domain::{
    ApiKey, ClientInfo, EmailAddress, GrantPurpose, Redemption, RefreshToken, ResetGrant, User,
};
use crate::password::Profile;
use crate::url_template::LinkTemplate;

use super::password_change::{ChangeInput, SetPasswordError};
use super::{ResetError, ResetService};

/// Whether a redeeming request's `Origin` fits the grant: no header (not a
/// browser's cross-origin request), or no origin recorded on the grant
/// (issued before grants had one), or the origin of the grant's link, or
/// the service's own pages (an `Origin` whose host is the one the request
/// was sent to, such as the hosted reset page).
fn origin_fits(grant: &ResetGrant, client: &ClientInfo) -> bool {
    let (Some(sent), Some(expected)) = (&client.origin, &grant.origin) else {
        return true;
    };
    let own = |host: &String| sent.split_once("://").is_some_and(|(_, a)| a == host);
    sent == expected || client.host.as_ref().is_some_and(own)
}

impl ResetService {
    /// Delivers the address request `intake` for the account-recovery
    /// contract: a link token to the recovery link, with a grant only the
    /// log-in route redeems, and its mail when the address has an active
    /// account, in one write with the request's removal. False when the
    /// request was delivered already.
    pub(super) async fn request_recovery(
        &self,
        email: &EmailAddress,
        client: &ClientInfo,
        intake: &str,
    ) -> Result<bool, ResetError> {
        let Some(user) = self.active_account(email, "recovery link").await? else {
            return self.complete_intake(intake, None).await;
        };
        let link = &self.config.links.recover;
        self.issue_link(&user, link, GrantPurpose::AccountRecovery, client, intake)
            .await
    }

    /// Delivers a Payabli address request `intake`: a link token for an
    /// address, asked for by `key` (None when
    /// the request carried no key to check) with an optional `entry`. A user
    /// of an organisation the key does not act for, or an entry of another
    /// organisation than the user's, gets no mail, like an address without
    /// an account; the request is completed all the same.
    pub(super) async fn request_link_by_key(
        &self,
        key: Option<&ApiKey>,
        email: &EmailAddress,
        entry: Option<&str>,
        client: &ClientInfo,
        intake: &str,
    ) -> Result<bool, ResetError> {
        let Some(user) = self.active_account(email, "reset link").await? else {
            return self.complete_intake(intake, None).await;
        };
        if let Some(key) = key.filter(|k| !self.keys.reaches(k, &user)) {
            tracing::info!(user_id = %user.id, key = %key.name, "requested by a key of another organisation; no mail");
            return self.complete_intake(intake, None).await;
        }
        let Some(link) = self.config.links.for_entry(entry, &self.keys.org_of(&user)) else {
            tracing::info!(user_id = %user.id, "entry of another organisation; no mail");
            return self.complete_intake(intake, None).await;
        };
        self.issue_link(&user, link, GrantPurpose::ResetLink, client, intake)
            .await
    }

    /// The grant, recording its purpose and its link's origin, and its mail,
    /// written with the removal of `intake`.
    async fn issue_link(
        &self,
        user: &User,
        link: &LinkTemplate,
        purpose: GrantPurpose,
        client: &ClientInfo,
        intake: &str,
    ) -> Result<bool, ResetError> {
        let (token, grant) = ResetGrant::issue(
            user.id.clone(),
            user.credential_version,
            self.clock.now(),
            self.config.token_ttl,
            purpose,
            link.origin(),
        );
        let url = link.render(&[("token", token.expose())]);
        let mail = self.reset_mail(user, url, None, grant.expires_at, client);
        if !self.complete_intake(intake, Some((&grant, &mail))).await? {
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
            .credentials
            .grant(&token.digest())
            .await?
            .ok_or(ResetError::InvalidToken)?;
        if grant.used_at.is_some() {
            return Err(ResetError::UsedToken);
        }
        if grant.is_expired(self.clock.now()) {
            return Err(ResetError::InvalidToken);
        }
        let user = self
            .find_user(&grant.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(ResetError::InvalidToken)?;
        if user.credential_version != grant.credential_version {
            // A password change may have landed between the two reads; if it
            // was this grant's own redemption, the token is used, not void.
            let again = self.credentials.grant(&token.digest()).await?;
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
        self.redeem_token(
            raw_token,
            raw_password,
            None,
            GrantPurpose::ResetLink,
            client,
        )
        .await
    }

    /// The redemption both a plain reset and a log-in after recovery make;
    /// `session` is written with the password when there is one. The grant
    /// must have been issued for `purpose`, and a browser's request must
    /// come from where its link pointed: else the token is invalid here,
    /// and stays unused.
    pub(super) async fn redeem_token(
        &self,
        raw_token: &str,
        raw_password: &str,
        session: Option<RefreshToken>,
        purpose: GrantPurpose,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        let (grant, user) = self.inspect_token(raw_token).await?;
        if !grant.serves(purpose) || !origin_fits(&grant, client) {
            tracing::info!(user_id = %user.id, purpose = purpose.as_str(), "grant refused: another purpose or origin");
            return Err(ResetError::InvalidToken);
        }
        // Account recovery (reset-account) is seed 004's contract, which
        // states its own rule, whether rekey or a directory issues the
        // session; every other link reset follows NIST.
        let profile = match purpose {
            GrantPurpose::AccountRecovery => Profile::AccountRecovery,
            GrantPurpose::ResetLink | GrantPurpose::SignedLink => Profile::Nist,
        };
        let password = self
            .check_password(raw_password, Some(&user), profile)
            .await?;
        // The token is verified (not yet consumed): now the history may speak.
        self.refuse_reused(&user, &password, client).await?;
        let action = if session.is_some() {
            "account_recovery"
        } else {
            "password_reset_link"
        };
        match self
            .set_password(
                &user,
                password,
                ChangeInput {
                    redemption: Redemption::Grant(grant.digest),
                    session,
                    action,
                    client,
                },
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

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use std::time::Duration;

    use crate::ResetError;
    use crate::domain::{ClientInfo, EmailAddress};
    use crate::mail::{MailJob, MailMessage};
    use crate::testing::{NEW_PASSWORD, OLD_PASSWORD, fixture_with};

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
        // A token expires when its lifetime has passed: time moves, the
        // lifetime stays what it is.
        let (token, _) = f.add_grant(&user, Duration::from_secs(600)).await;
        f.clock.advance(Duration::from_secs(599));
        assert!(f.service.inspect_token(token.expose()).await.is_ok());
        f.clock.advance(Duration::from_secs(1));
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
        f.disable(&user).await;
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

    /// reset-account's rule (seed 004) follows the contract, not who issues
    /// the session: with a directory that signs in (Cognito), no session is
    /// written here, and the profile is still account recovery's.
    #[tokio::test]
    async fn account_recovery_applies_its_profile_with_or_without_a_session() {
        use crate::domain::GrantPurpose;
        use crate::password::PolicyRule;
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        // NIST accepts it; seed 004 wants 3 of 4 classes.
        let lower = "quiet orbital hampton sky";
        let (token, _) = f
            .add_grant_for(
                &user,
                Duration::from_secs(600),
                GrantPurpose::AccountRecovery,
            )
            .await;
        let refused = f
            .service
            .redeem_token(
                token.expose(),
                lower,
                None,
                GrantPurpose::AccountRecovery,
                &client,
            )
            .await;
        assert!(
            matches!(&refused, Err(ResetError::WeakPassword(v)) if v.iter().map(|v| v.rule).eq([PolicyRule::CharacterClasses])),
            "{refused:?}"
        );
        let (token, _) = f.add_grant(&user, Duration::from_secs(600)).await;
        f.service
            .redeem_token(
                token.expose(),
                lower,
                None,
                GrantPurpose::ResetLink,
                &client,
            )
            .await
            .unwrap();
    }

    /// A token's holder learns `reused` only as password comparisons,
    /// which are limited: the token is no free oracle for the current
    /// password.
    #[tokio::test]
    async fn history_checks_with_a_token_count_as_password_attempts() {
        let f = fixture_with(&[
            ("REKEY_PASSWORD_HISTORY", "2"),
            ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "2"),
        ])
        .await;
        let user = f.add_user("ada@example.com").await;
        let (token, _) = f.add_grant(&user, Duration::from_secs(600)).await;
        let client = ClientInfo::default();
        for _ in 0..2 {
            assert!(matches!(
                f.service
                    .reset_with_token(token.expose(), OLD_PASSWORD, &client)
                    .await,
                Err(ResetError::WeakPassword(_))
            ));
        }
        assert!(matches!(
            f.service
                .reset_with_token(token.expose(), OLD_PASSWORD, &client)
                .await,
            Err(ResetError::RateLimited { .. })
        ));
        assert!(f.service.inspect_token(token.expose()).await.is_ok());
    }

    #[tokio::test]
    async fn request_link_mails_known_addresses_only() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        let unknown = EmailAddress::parse("nobody@example.com").unwrap();
        let request = || super::super::AddressRequest::ResetLink { entry: None };
        f.service
            .accept_address_request(request(), &unknown, &client, None)
            .await
            .unwrap();
        f.service.drain_intake(10).await.unwrap();
        assert!(f.store.pending_mail(10).await.unwrap().is_empty());

        f.service
            .accept_address_request(request(), &user.email, &client, None)
            .await
            .unwrap();
        f.service.drain_intake(10).await.unwrap();
        let items = f.store.pending_mail(10).await.unwrap();
        assert_eq!(items.len(), 1);
        let job = MailJob::open(&f.config.keys, &items[0]).unwrap();
        assert_eq!(job.to, "ada@example.com");
        let MailMessage::ResetLink { link, .. } = job.message else {
            panic!("expected a reset link");
        };
        let raw = link.split("token=").nth(1).unwrap();
        let (_, owner) = f.service.inspect_token(raw).await.unwrap();
        assert_eq!(owner.id, user.id);
    }
}
