//! The password-change path every flow ends in: the policy check, the
//! conditional write, the current-password check, and the audit trail.

use crate::domain::{AuditEvent, ClientInfo, PasswordChange, Redemption, RefreshToken, User};
use crate::password::pwned::{OnError, PwnedVerdict};
use crate::password::{NewPassword, PasswordContext, PolicyRule, PolicyViolation, Profile};
use crate::store::StoreError;

use super::{ResetError, ResetService};

/// A password write either fails for a domain reason or loses a race to
/// another write; callers say what the race means for their credential.
pub(super) enum SetPasswordError {
    Reset(ResetError),
    LostRace,
}

impl From<ResetError> for SetPasswordError {
    fn from(e: ResetError) -> Self {
        SetPasswordError::Reset(e)
    }
}

/// What a password change consumes and records besides the password.
pub(super) struct ChangeInput<'a> {
    /// What the change redeems: a link's grant, a code, or nothing.
    pub redemption: Redemption,
    /// The session a log-in starts beside the change.
    pub session: Option<RefreshToken>,
    /// How the audit trail and the webhook name the change.
    pub action: &'static str,
    pub client: &'a ClientInfo,
}

impl ResetService {
    /// The hashes a new password must differ from: the current one first,
    /// then the history, as many as the policy keeps.
    fn recent_hashes(&self, user: &User) -> Vec<String> {
        user.password_hash
            .iter()
            .chain(user.password_history.iter())
            .take(self.config.policy.history)
            .cloned()
            .collect()
    }

    /// Applies `profile`'s rules; for a known user also the context rules
    /// (the address, the name). Not the history: that compares with the
    /// user's password, so it waits for the proof (`refuse_reused`). The
    /// Pwned Passwords check, when configured, only for a password every
    /// other rule accepts.
    pub async fn check_password(
        &self,
        raw: &str,
        user: Option<&User>,
        profile: Profile,
    ) -> Result<NewPassword, ResetError> {
        let password = NewPassword::normalize(raw);
        let who = PasswordContext {
            email: user.map(|u| u.email.as_str()),
            name: user.and_then(|u| u.name.as_deref()),
        };
        let mut failed = self.config.policy.check(profile, &password, who);
        if failed.is_empty()
            && let Some(pwned) = &self.config.policy.pwned
        {
            match pwned.lookup(password.expose()).await {
                PwnedVerdict::NotFound => {}
                PwnedVerdict::Found(_) => failed.push(PolicyViolation {
                    rule: PolicyRule::Compromised,
                    message: "has appeared in a data breach (Pwned Passwords)".into(),
                }),
                PwnedVerdict::Unavailable(reason) => {
                    tracing::warn!(reason = %reason, on_error = ?pwned.on_error, "Pwned Passwords range check unavailable");
                    if pwned.on_error == OnError::Refuse {
                        return Err(ResetError::Unavailable(Box::new(
                            crate::error::ServiceFailure(format!("Pwned Passwords: {reason}")),
                        )));
                    }
                }
            }
        }
        if failed.is_empty() {
            Ok(password)
        } else {
            Err(ResetError::WeakPassword(failed))
        }
    }

    /// The history rule, only once the caller has proved it may set the
    /// password: before that, `reused` would confirm a guess of the current
    /// password for free. Counted as one password comparison; the current
    /// hash is compared through `verify_password`, so it is upgraded too.
    pub(super) async fn refuse_reused(
        &self,
        user: &User,
        password: &NewPassword,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let history = self.config.policy.history;
        if history == 0 {
            return Ok(());
        }
        let older: Vec<String> = self
            .recent_hashes(user)
            .into_iter()
            .skip(usize::from(user.password_hash.is_some()))
            .collect();
        let reused = self
            .passwords
            .verify(user, password.expose(), client)
            .await?
            || self.hasher.matches_any_off_executor(password, older).await;
        if reused {
            return Err(ResetError::WeakPassword(vec![PolicyViolation {
                rule: PolicyRule::Reused,
                message: format!("must differ from the last {history} passwords"),
            }]));
        }
        Ok(())
    }

    /// Hashes a checked password, then writes it while consuming what
    /// `input` redeems, in one conditional transaction.
    pub(super) async fn set_password(
        &self,
        user: &User,
        password: NewPassword,
        input: ChangeInput<'_>,
    ) -> Result<PasswordChange, SetPasswordError> {
        let ChangeInput {
            redemption,
            session,
            action,
            client,
        } = input;
        if self.directory.keeps_passwords() {
            return self
                .set_directory_password(user, password, redemption, session, action, client)
                .await;
        }
        let new_hash = self
            .hasher
            .hash_off_executor(password)
            .await
            .map_err(|e| ResetError::Internal(Box::new(e)))?;
        let change = self.password_change(user, new_hash, session, action, client);
        self.credentials
            .change_password(&change, &redemption)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => SetPasswordError::LostRace,
                other => SetPasswordError::Reset(other.into()),
            })?;
        tracing::info!(user_id = %user.id, outbox_id = %change.notice.id, "password changed");
        crate::metrics::count(crate::metrics::Metric::ResetsCompleted);
        self.mail_queued();
        Ok(change)
    }

    pub(super) fn password_change(
        &self,
        user: &User,
        new_hash: String,
        session: Option<RefreshToken>,
        action: &'static str,
        client: &ClientInfo,
    ) -> PasswordChange {
        let changed_at = self.clock.now();
        // A directory that keeps the password has no PHC string to tell.
        let hash = (!self.directory.keeps_passwords()).then_some(new_hash.as_str());
        PasswordChange {
            webhooks: self.change_webhooks(user, changed_at, action, true, hash),
            user_id: user.id.clone(),
            expected: user.credential_version,
            new_hash,
            history: self.recent_hashes(user),
            changed_at,
            notice: self.password_changed_mail(user, changed_at, client, false),
            session,
            audit: self.audit_event(user, action, "success", client),
        }
    }

    /// The `password.changed` items for the endpoints that take it; for
    /// rekey's own accounts the change always revokes every session.
    pub(super) fn change_webhooks(
        &self,
        user: &User,
        changed_at: crate::domain::UnixTime,
        action: &str,
        sessions_revoked: bool,
        new_hash: Option<&str>,
    ) -> Vec<crate::domain::OutboxItem> {
        let event = crate::webhook::WebhookEvent::password_changed(
            user,
            changed_at,
            action,
            sessions_revoked,
            new_hash,
        );
        self.config.webhooks.queue(&event, &self.config.keys)
    }

    pub(super) fn audit_event(
        &self,
        user: &User,
        action: &str,
        outcome: &str,
        client: &ClientInfo,
    ) -> AuditEvent {
        let at = self.clock.now();
        AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id.clone(),
            action: action.to_string(),
            outcome: outcome.to_string(),
            at,
            source_ip: client.source_ip.clone(),
            user_agent: client.user_agent.clone(),
            expires_at: at.plus(self.config.limits.audit_retention),
        }
    }

    /// Records a refusal against a known account; an audit outage must not
    /// turn a 4xx into a 503, so it is only logged.
    pub(super) async fn audit_refusal(
        &self,
        user: &User,
        action: &str,
        outcome: &str,
        client: &ClientInfo,
    ) {
        let event = self.audit_event(user, action, outcome, client);
        if let Err(e) = self.audit.record_audit(&event).await {
            tracing::warn!(user_id = %user.id, error = %crate::error::Chain(&e), "audit event not recorded");
        }
    }
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use crate::ResetError;
    use crate::domain::{ClientInfo, Redemption, User};
    use crate::password::{PolicyRule, Profile};
    use crate::testing::{Fixture, NEW_PASSWORD, OLD_PASSWORD, fixture_with};

    use super::ChangeInput;

    /// A change that redeems nothing and starts no session.
    fn nothing<'a>(action: &'static str, client: &'a ClientInfo) -> ChangeInput<'a> {
        ChangeInput {
            redemption: Redemption::Nothing,
            session: None,
            action,
            client,
        }
    }

    /// The policy, then (as after a proof) the history.
    async fn checked(f: &Fixture, raw: &str, user: &User) -> Result<(), ResetError> {
        let password = f
            .service
            .check_password(raw, Some(user), Profile::Nist)
            .await?;
        f.service
            .refuse_reused(user, &password, &ClientInfo::default())
            .await
    }

    fn reused(result: &Result<(), ResetError>) -> bool {
        matches!(result, Err(ResetError::WeakPassword(v)) if v.iter().any(|p| p.rule == PolicyRule::Reused))
    }

    #[tokio::test]
    async fn history_refuses_the_last_passwords_the_policy_keeps() {
        let f = fixture_with(&[("REKEY_PASSWORD_HISTORY", "2")]).await;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        assert!(reused(&checked(&f, OLD_PASSWORD, &user).await));
        // The policy alone never compares with the user's passwords: that
        // waits for the proof. Without a user there is no history at all.
        assert!(
            f.service
                .check_password(OLD_PASSWORD, Some(&user), Profile::Nist)
                .await
                .is_ok()
        );
        assert!(
            f.service
                .check_password(OLD_PASSWORD, None, Profile::Nist)
                .await
                .is_ok()
        );

        let passwords = [NEW_PASSWORD, "Third-Lantern-77-Orbit"];
        let mut current = user;
        for next in passwords {
            let checked = f
                .service
                .check_password(next, Some(&current), Profile::Nist)
                .await
                .unwrap();
            f.service
                .set_password(&current, checked, nothing("t", &client))
                .await
                .ok()
                .unwrap();
            current = f.reload(&current).await;
        }
        // Two kept: the current one and the one before; the first has aged out.
        assert!(reused(&checked(&f, passwords[1], &current).await));
        assert!(reused(&checked(&f, passwords[0], &current).await));
        assert!(checked(&f, OLD_PASSWORD, &current).await.is_ok());
    }

    /// The history check compares with the current password through the
    /// one verification that upgrades: an imported hash becomes argon2id.
    #[tokio::test]
    async fn the_history_check_upgrades_an_imported_hash() {
        let f = fixture_with(&[
            ("REKEY_PASSWORD_HISTORY", "2"),
            ("REKEY_LEGACY_BCRYPT_COST", "4"),
        ])
        .await;
        let user = f.add_user("ada@example.com").await;
        let imported = bcrypt::hash(OLD_PASSWORD, 4).unwrap();
        f.store
            .update_password_hash(&user.id, user.password_hash.as_deref().unwrap(), &imported)
            .await
            .unwrap();
        let user = f.reload(&user).await;
        assert!(reused(&checked(&f, OLD_PASSWORD, &user).await));
        let stored = f.reload(&user).await.password_hash.unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert_eq!(
            f.reload(&user).await.credential_version,
            user.credential_version
        );
    }

    #[tokio::test]
    async fn without_history_only_the_policy_applies() {
        let f = fixture_with(&[("REKEY_PASSWORD_HISTORY", "0")]).await;
        let user = f.add_user("ada@example.com").await;
        assert!(checked(&f, OLD_PASSWORD, &user).await.is_ok());
        assert!(matches!(
            f.service
                .check_password("short", Some(&user), Profile::Nist)
                .await,
            Err(ResetError::WeakPassword(_))
        ));
    }

    #[tokio::test]
    async fn a_change_bumps_the_version_and_queues_the_notice() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        let checked = f
            .service
            .check_password(NEW_PASSWORD, Some(&user), Profile::Nist)
            .await
            .unwrap();
        let change = f
            .service
            .set_password(&user, checked, nothing("t", &client))
            .await
            .ok()
            .unwrap();
        assert_eq!(change.expected, user.credential_version);
        let stored = f.reload(&user).await;
        assert_eq!(stored.credential_version, user.credential_version.next());
        assert!(
            f.passwords
                .verify(&stored, NEW_PASSWORD, &client)
                .await
                .unwrap()
        );
        assert!(
            !f.passwords
                .verify(&stored, OLD_PASSWORD, &client)
                .await
                .unwrap()
        );
        let pending = f.store.pending_mail(10).await.unwrap();
        assert_eq!(
            pending.iter().map(|m| &m.id).collect::<Vec<_>>(),
            [&change.notice.id]
        );

        // A second write from the same stale view loses the race.
        let again = f
            .service
            .check_password("Third-Lantern-77-Orbit", None, Profile::Nist)
            .await
            .unwrap();
        assert!(matches!(
            f.service
                .set_password(&user, again, nothing("t", &client))
                .await,
            Err(super::SetPasswordError::LostRace)
        ));
    }
}
