//! The password change with a directory that keeps passwords itself (a
//! Cognito pool): claim, set there, sign out, then the change transaction.
//!
//! Ordering: the change is first claimed in rekey's store (conditional on
//! the credential version, for `CHANGE_CLAIM` seconds), so of concurrent
//! changes only the claim's holder writes to the directory. A directory
//! that refuses the password or fails gives the claim back and leaves the
//! credential (link, code, signed link) unspent. Only after the directory
//! took the password does the change transaction consume the credential and
//! move the credential version, voiding every other outstanding one.

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
        if let Err(e) = self.directory.set_password(user, &password).await {
            self.release_claim(user, &holder).await;
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
            // usable, and its next use sets the password again.
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
