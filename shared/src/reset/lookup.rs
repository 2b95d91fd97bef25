//! Looking accounts up for a flow: through the directory, never the
//! store's own account reads, so a Cognito pool is asked where it holds
//! the accounts.

use super::{ResetError, ResetService};
use crate::domain::{EmailAddress, User, UserId};

impl ResetService {
    /// The account with this id, as the directory has it.
    pub(super) async fn find_user(&self, id: &UserId) -> Result<Option<User>, ResetError> {
        self.directory.user(id).await.map_err(ResetError::from)
    }

    /// The active account for an address, or None (logged by reference):
    /// none, disabled, or past the address's mail limits. Runs at delivery,
    /// never while the requester waits. Every call is a reset request,
    /// counted either way.
    pub(super) async fn active_account(
        &self,
        email: &EmailAddress,
        what: &str,
    ) -> Result<Option<User>, ResetError> {
        crate::metrics::count(crate::metrics::Metric::ResetsRequested);
        let email_ref = self.config.keys.log_ref(email.as_str());
        // Looked up first: a directory that fails (a pool's outage) leaves the
        // request to be retried without having spent the address's mail
        // limit. Counted for every address, known or not: the same work
        // either way.
        let user = self.directory.user_by_email(email).await?;
        let limited = self.limiter.limit_mail_to(email).await;
        match (user, limited) {
            (_, Err(ResetError::RateLimited { .. })) => {
                tracing::info!(email_ref, what, "address past its mail limit; no mail");
                Ok(None)
            }
            (_, Err(e)) => Err(e),
            (None, Ok(())) => {
                tracing::info!(
                    email_ref,
                    what,
                    "requested for an address without an account"
                );
                Ok(None)
            }
            (Some(u), Ok(())) if u.disabled => {
                tracing::info!(email_ref, what, user_id = %u.id, "requested for a disabled account");
                Ok(None)
            }
            (Some(u), Ok(())) => Ok(Some(u)),
        }
    }
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use crate::testing::fixture_with;

    #[tokio::test]
    async fn active_account_hides_disabled_unknown_and_limited_addresses() {
        let f = fixture_with(&[("REKEY_LIMIT_EMAIL_PER_HOUR", "2")]).await;
        let user = f.add_user("ada@example.com").await;
        let found = f.service.active_account(&user.email, "t").await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(user.id.clone()));
        let unknown = crate::domain::EmailAddress::parse("nobody@example.com").unwrap();
        assert!(
            f.service
                .active_account(&unknown, "t")
                .await
                .unwrap()
                .is_none()
        );
        // The second request was the last the hour allows.
        assert!(
            f.service
                .active_account(&user.email, "t")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            f.service
                .active_account(&user.email, "t")
                .await
                .unwrap()
                .is_none()
        );

        let other = f.add_user("grace@example.com").await;
        f.disable(&other).await;
        assert!(
            f.service
                .active_account(&other.email, "t")
                .await
                .unwrap()
                .is_none()
        );
    }
}
