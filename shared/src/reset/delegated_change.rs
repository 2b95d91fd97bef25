//! The password change with a directory that keeps passwords itself (a
//! Cognito pool): claim, set there, sign out, then the change transaction.
//!
//! Ordering: the change is first claimed in rekey's store (conditional on
//! the credential version, for `CHANGE_CLAIM` seconds), so of concurrent
//! changes only the claim's holder writes to the directory. The holder then
//! checks the binding, before anything is written: the credential (grant
//! or code) is still there, unspent, and the user's, at this version. A
//! directory that refuses the password or fails gives the claim back and
//! leaves the credential (link, code, signed link) unspent. Only after the
//! directory took the password does the change transaction consume the
//! credential and move the credential version, voiding every other
//! outstanding one. Every outcome is audited, including a directory write
//! the transaction then failed to record.

use crate::directory::DirectoryError;
use crate::domain::{ChangeClaim, ClientInfo, PasswordChange, Redemption, RefreshToken, User};
use crate::password::NewPassword;
use crate::store::StoreError;

use super::password_change::SetPasswordError;
use super::{ResetError, ResetService};

/// How long a claim lasts: longer than the SDK's 5 s operation timeout for
/// each of the two directory calls it covers, so it does not run out while
/// its holder still writes.
const CHANGE_CLAIM: std::time::Duration = std::time::Duration::from_secs(30);

/// What rekey's record of a pool user holds where a hash would be: never a
/// PHC string (those start with `$`), so it verifies nothing.
pub(super) const DIRECTORY_KEEPS_PASSWORD: &str = "!directory";

impl ResetService {
    pub(super) async fn set_directory_password(
        &self,
        user: &User,
        password: NewPassword,
        redemption: Redemption,
        session: Option<RefreshToken>,
        action: &'static str,
        client: &ClientInfo,
    ) -> Result<PasswordChange, SetPasswordError> {
        let holder = uuid::Uuid::new_v4().to_string();
        let at = self.clock.now();
        let claim = ChangeClaim {
            user_id: user.id.clone(),
            expected: user.credential_version,
            holder: holder.clone(),
            at,
            until: at.plus(CHANGE_CLAIM),
        };
        self.accounts
            .claim_password_change(&claim)
            .await
            .map_err(lost_race)?;
        match self.redemption_binds(user, &redemption).await {
            Ok(true) => {}
            Ok(false) => {
                self.release_claim(user, &holder).await;
                self.audit_refusal(user, action, "credential_no_longer_valid", client)
                    .await;
                return Err(SetPasswordError::LostRace);
            }
            Err(e) => {
                self.release_claim(user, &holder).await;
                return Err(SetPasswordError::Reset(e));
            }
        }
        if let Err(e) = self.directory.set_password(user, &password).await {
            self.release_claim(user, &holder).await;
            let outcome = match e {
                DirectoryError::PasswordRefused(_) => "directory_policy",
                DirectoryError::UserGone => "directory_user_gone",
                _ => "directory_unavailable",
            };
            self.audit_refusal(user, action, outcome, client).await;
            return Err(SetPasswordError::Reset(e.into()));
        }
        let signed_out = match self.directory.sign_out(&user.id).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %crate::error::Chain(&e), "sign-out failed; queued for retry");
                false
            }
        };
        let mut change = self.password_change(
            user,
            DIRECTORY_KEEPS_PASSWORD.to_string(),
            session,
            action,
            client,
        );
        if !signed_out {
            // The notice carries the sign-out: its delivery retries it
            // before the mail goes out, until it succeeds. The webhook says
            // the sessions were not (yet) revoked.
            change.notice = self.password_changed_mail(user, change.changed_at, client, true);
            change.webhooks = self.change_webhooks(user, change.changed_at, action, false, None);
        }
        if let Err(e) = self.credentials.change_password(&change, &redemption).await {
            // The directory has the new password; the credential stays
            // usable, and its next use sets the password again. Said
            // loudly and audited (if the store takes it), so the change
            // is not silent.
            tracing::error!(
                user_id = %user.id,
                error = %e,
                "password set in the directory, but the change was not recorded"
            );
            self.audit_refusal(user, action, "directory_set_unrecorded", client)
                .await;
            self.release_claim(user, &holder).await;
            return Err(lost_race(e));
        }
        tracing::info!(
            user_id = %user.id,
            outbox_id = %change.notice.id,
            signed_out,
            "password changed in the directory"
        );
        crate::metrics::count(crate::metrics::Metric::ResetsCompleted);
        self.mail_queued();
        Ok(change)
    }

    /// Whether `redemption` still redeems `user` at its credential version:
    /// read under the claim, so nothing else can spend it meanwhile.
    async fn redemption_binds(
        &self,
        user: &User,
        redemption: &Redemption,
    ) -> Result<bool, ResetError> {
        let now = self.clock.now();
        Ok(match redemption {
            Redemption::Grant(digest) => self.credentials.grant(digest).await?.is_some_and(|g| {
                g.user_id == user.id
                    && g.used_at.is_none()
                    && g.expires_at > now
                    && g.credential_version == user.credential_version
            }),
            Redemption::Code { digest } => self
                .credentials
                .reset_code(&user.id)
                .await?
                .is_some_and(|c| {
                    c.digest == *digest
                        && c.expires_at > now
                        && c.credential_version == user.credential_version
                }),
            Redemption::Nothing => true,
        })
    }

    async fn release_claim(&self, user: &User, holder: &str) {
        // Not released (an outage), the claim runs out on its own.
        if let Err(e) = self
            .accounts
            .release_password_change(&user.id, holder)
            .await
        {
            tracing::warn!(user_id = %user.id, error = %crate::error::Chain(&e), "password-change claim not released");
        }
    }
}

fn lost_race(e: StoreError) -> SetPasswordError {
    match e {
        StoreError::Conflict(_) => SetPasswordError::LostRace,
        other => SetPasswordError::Reset(ResetError::from(other)),
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use crate::directory::{Directory, DirectoryError, DirectorySession, RekeyAccounts};
    use crate::domain::{ClientInfo, EmailAddress, Redemption, User, UserId};
    use crate::password::NewPassword;
    use crate::testing::{NEW_PASSWORD, fixture_with};

    /// A directory that keeps passwords, counting what it is asked to
    /// write; accounts come from rekey's store.
    struct CountingPool {
        accounts: RekeyAccounts,
        writes: AtomicUsize,
    }

    #[async_trait]
    impl Directory for CountingPool {
        async fn user_by_email(&self, e: &EmailAddress) -> Result<Option<User>, DirectoryError> {
            self.accounts.user_by_email(e).await
        }
        async fn user(&self, id: &UserId) -> Result<Option<User>, DirectoryError> {
            self.accounts.user(id).await
        }
        fn keeps_passwords(&self) -> bool {
            true
        }
        async fn set_password(&self, _: &User, _: &NewPassword) -> Result<(), DirectoryError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn sign_out(&self, _: &UserId) -> Result<(), DirectoryError> {
            Ok(())
        }
        async fn sign_in(
            &self,
            _: &User,
            _: &NewPassword,
        ) -> Result<Option<DirectorySession>, DirectoryError> {
            Ok(None)
        }
    }

    /// A spent grant and another user's grant write nothing to the
    /// directory, and each refusal is audited; a good one writes once.
    #[tokio::test]
    async fn the_binding_is_checked_before_the_directory_is_written() {
        let f = fixture_with(&[]).await;
        let pool = Arc::new(CountingPool {
            accounts: RekeyAccounts::new(f.store.clone()),
            writes: AtomicUsize::new(0),
        });
        let service = f.app.clone().with_directory(pool.clone()).reset.clone();
        let ada = f.add_user("ada@example.com").await;
        let grace = f.add_user("grace@example.com").await;
        let hour = std::time::Duration::from_secs(3600);
        let (_, spent) = f.add_grant(&ada, hour).await;
        let (_, graces) = f.add_grant(&grace, hour).await;
        let client = ClientInfo::default();
        let set = |user: User, redemption: Redemption| {
            let service = service.clone();
            let client = client.clone();
            async move {
                service
                    .set_password(
                        &user,
                        NewPassword::normalize(NEW_PASSWORD),
                        super::super::password_change::ChangeInput {
                            redemption,
                            session: None,
                            action: "password_reset_link",
                            client: &client,
                        },
                    )
                    .await
                    .is_ok()
            }
        };
        assert!(set(ada.clone(), Redemption::Grant(spent.digest.clone())).await);
        assert_eq!(pool.writes.load(Ordering::SeqCst), 1);
        // Reloaded at its new version (so the claim succeeds): the spent
        // grant and Grace's grant bind nothing.
        let ada = f.reload(&ada).await;
        for redemption in [
            Redemption::Grant(spent.digest.clone()),
            Redemption::Grant(graces.digest.clone()),
        ] {
            assert!(!set(ada.clone(), redemption).await);
        }
        assert_eq!(
            pool.writes.load(Ordering::SeqCst),
            1,
            "nothing else written"
        );
        let audited = f.store.audit_events(&ada.id, 10).await.unwrap();
        assert!(
            audited
                .iter()
                .filter(|e| e.outcome == "credential_no_longer_valid")
                .count()
                >= 2,
            "{audited:?}"
        );
    }
}
