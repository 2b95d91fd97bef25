//! The password-change path every flow ends in: the policy check, the
//! conditional write, the current-password check, and the audit trail.

use crate::domain::{
    AuditEvent, ClientInfo, PasswordChange, Redemption, RefreshToken, User, expiry, now,
};
use crate::password::pwned::{OnError, PwnedVerdict};
use crate::password::{
    NewPassword, PasswordContext, PolicyRule, PolicyViolation, Profile, Verification,
};
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
                        return Err(ResetError::Unavailable(format!(
                            "Pwned Passwords: {reason}"
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
            .verify_password(user, password.expose(), client)
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

    /// Hashes a checked password, then writes it while consuming
    /// `redemption`, in one conditional transaction.
    pub(super) async fn set_password(
        &self,
        user: &User,
        password: NewPassword,
        redemption: Redemption,
        session: Option<RefreshToken>,
        action: &'static str,
        client: &ClientInfo,
    ) -> Result<PasswordChange, SetPasswordError> {
        if self.directory.keeps_passwords() {
            return self
                .set_directory_password(user, password, redemption, session, action, client)
                .await;
        }
        let new_hash = self
            .hasher
            .hash_off_executor(password)
            .await
            .map_err(|e| ResetError::Internal(e.to_string()))?;
        let change = self.password_change(user, new_hash, session, action, client);
        self.store
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
        let changed_at = now();
        // A directory that keeps the password has no PHC string to tell.
        let hash = (!self.directory.keeps_passwords()).then_some(new_hash.as_str());
        PasswordChange {
            webhooks: self.change_webhooks(user, changed_at, action, true, hash),
            user_id: user.id.clone(),
            expected: user.credential_version,
            new_hash,
            history: self.recent_hashes(user),
            changed_at,
            notice: self.password_changed_mail(user, changed_at, client),
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

    /// Whether `password` is the user's current password: the one
    /// comparison every check of it goes through. Counted against the
    /// password-attempt limits first (`RateLimited` past them). A match
    /// against a hash that is not argon2id with the configured parameters
    /// (an older cost, or bcrypt / Django pbkdf2_sha256 from an import)
    /// upgrades the stored hash, conditionally on it being unchanged; the
    /// upgrade is not a password change (no new credential version, no mail).
    pub async fn verify_password(
        &self,
        user: &User,
        password: &str,
        client: &ClientInfo,
    ) -> Result<bool, ResetError> {
        self.limit_password_attempts(user, client).await?;
        // The same work with or without a hash, whatever its scheme.
        let hash = user.password_hash.clone();
        let hasher = self.hasher.clone();
        let password = zeroize::Zeroizing::new(password.to_string());
        let (verdict, password) = tokio::task::spawn_blocking(move || {
            let (verdict, _) = hasher.verify_uniform(&password, hash.as_deref());
            (verdict, password)
        })
        .await
        .map_err(|e| ResetError::Internal(e.to_string()))?;
        match verdict {
            Verification::Mismatch => Ok(false),
            Verification::Match {
                needs_rehash: false,
            } => Ok(true),
            Verification::Match { needs_rehash: true } => {
                let upgraded = self
                    .hasher
                    .hash_off_executor(NewPassword::normalize(&password))
                    .await
                    .map_err(|e| ResetError::Internal(e.to_string()))?;
                let old = user.password_hash.as_deref().unwrap_or_default();
                match self
                    .store
                    .update_password_hash(&user.id, old, &upgraded)
                    .await
                {
                    Ok(()) => tracing::info!(user_id = %user.id, "password hash upgraded"),
                    // Changed meanwhile: the newer hash stands.
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => {
                        tracing::warn!(user_id = %user.id, error = %e, "password hash not upgraded")
                    }
                }
                Ok(true)
            }
        }
    }

    pub(super) fn audit_event(
        &self,
        user: &User,
        action: &str,
        outcome: &str,
        client: &ClientInfo,
    ) -> AuditEvent {
        let at = now();
        AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id.clone(),
            action: action.to_string(),
            outcome: outcome.to_string(),
            at,
            source_ip: client.source_ip.clone(),
            user_agent: client.user_agent.clone(),
            expires_at: expiry(at, self.config.limits.audit_retention),
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
        if let Err(e) = self.store.record_audit(&event).await {
            tracing::warn!(user_id = %user.id, error = %e, "audit event not recorded");
        }
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::super::testing::{Fixture, NEW_PASSWORD, OLD_PASSWORD, fixture_with};
    use crate::ResetError;
    use crate::domain::{ClientInfo, Redemption, User};
    use crate::password::{PolicyRule, Profile};

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
                .set_password(&current, checked, Redemption::Nothing, None, "t", &client)
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
        f.service
            .store
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
            .set_password(&user, checked, Redemption::Nothing, None, "t", &client)
            .await
            .ok()
            .unwrap();
        assert_eq!(change.expected, user.credential_version);
        let stored = f.reload(&user).await;
        assert_eq!(stored.credential_version, user.credential_version.next());
        assert!(
            f.service
                .verify_password(&stored, NEW_PASSWORD, &client)
                .await
                .unwrap()
        );
        assert!(
            !f.service
                .verify_password(&stored, OLD_PASSWORD, &client)
                .await
                .unwrap()
        );
        let pending = f.service.store.pending_mail(10).await.unwrap();
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
                .set_password(&user, again, Redemption::Nothing, None, "t", &client)
                .await,
            Err(super::SetPasswordError::LostRace)
        ));
    }
}
