//! What stands before every flow: API keys and rate limits.

use crate::crypto::{API_KEY_PREFIX, BearerSecret};
use crate::domain::{ApiKey, ClientInfo, EmailAddress, Scope, User, now};

use super::{ResetError, ResetService};

/// The counter window `t` falls in, `window` seconds long and aligned to the
/// epoch, and the seconds until it ends (at least one, for `Retry-After`).
fn window_at(t: i64, window: i64) -> (i64, u64) {
    let start = t - t.rem_euclid(window);
    (start, (start + window - t).max(1) as u64)
}

impl ResetService {
    /// Checks an API key presented by a caller for `scope`.
    pub async fn authorize(
        &self,
        presented: Option<&str>,
        scope: Scope,
    ) -> Result<ApiKey, ResetError> {
        let secret = presented
            .map(str::trim)
            .and_then(|raw| BearerSecret::parse(API_KEY_PREFIX, raw))
            .ok_or(ResetError::Unauthenticated)?;
        let key = self
            .store
            .api_key(&secret.digest())
            .await?
            .filter(|k| !k.revoked)
            .ok_or(ResetError::Unauthenticated)?;
        if !key.allows(scope) {
            return Err(ResetError::Forbidden(scope));
        }
        Ok(key)
    }

    /// Counts a hit on `key` in the current `window`; Err with the seconds
    /// left in the window when more than `limit` hits were counted.
    pub(super) async fn over_limit(
        &self,
        key: &str,
        window: i64,
        limit: u64,
    ) -> Result<(), ResetError> {
        let (start, retry_after) = window_at(now(), window);
        let hits = self.store.count_hit(key, start, start + 2 * window).await?;
        if hits > limit {
            return Err(ResetError::RateLimited { retry_after });
        }
        Ok(())
    }

    /// Requests from one source address to one public endpoint. The address
    /// is kept only as a keyed digest.
    pub async fn limit_source(
        &self,
        function: crate::routes::Function,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let Some(ip) = &client.source_ip else {
            return Ok(());
        };
        let key = format!(
            "source:{}:{}",
            function.name(),
            self.config.keys.log_ref(ip)
        );
        self.over_limit(&key, 60, self.config.limits.source_per_minute)
            .await
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
        let limits = &self.config.limits;
        let email_ref = self.config.keys.log_ref(email.as_str());
        // Counted for every address, known or not: the same work either way.
        let key = format!("email:{email_ref}");
        let limited = self
            .over_limit(&format!("{key}:m"), 60, limits.email_per_minute)
            .await
            .and(
                self.over_limit(&format!("{key}:h"), 3600, limits.email_per_hour)
                    .await,
            );
        let user = self.store.user_by_email(email).await?;
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
mod window_tests {
    use super::window_at;

    #[test]
    fn windows_align_to_the_epoch() {
        assert_eq!(window_at(0, 60), (0, 60));
        assert_eq!(window_at(59, 60), (0, 1));
        assert_eq!(window_at(60, 60), (60, 60));
        assert_eq!(window_at(3_725, 3600), (3600, 3_475));
    }

    #[test]
    fn retry_after_is_never_zero() {
        for t in 0..180 {
            let (start, retry_after) = window_at(t, 60);
            assert!(start <= t && t < start + 60);
            assert!((1..=60).contains(&retry_after));
            assert_eq!(start + 60 - t, retry_after as i64);
        }
    }

    #[test]
    fn times_before_the_epoch_fall_in_the_window_below() {
        assert_eq!(window_at(-1, 60), (-60, 1));
        assert_eq!(window_at(-60, 60), (-60, 60));
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::super::testing::{Fixture, fixture_with};
    use crate::ResetError;
    use crate::domain::{ClientInfo, Scope};

    #[tokio::test]
    async fn over_limit_refuses_the_hit_past_the_limit() {
        let f = fixture_with(&[]).await;
        for _ in 0..3 {
            f.service.over_limit("k", 3600, 3).await.unwrap();
        }
        match f.service.over_limit("k", 3600, 3).await {
            Err(ResetError::RateLimited { retry_after }) => {
                assert!((1..=3600).contains(&retry_after))
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        // Another key has its own count.
        f.service.over_limit("other", 3600, 3).await.unwrap();
    }

    #[tokio::test]
    async fn source_limit_counts_per_function_and_skips_unknown_sources() {
        let f = fixture_with(&[("REKEY_LIMIT_SOURCE_PER_MINUTE", "1")]).await;
        let client = ClientInfo {
            source_ip: Some("192.0.2.7".into()),
            ..Default::default()
        };
        // Two hits might straddle a minute boundary; three cannot all fit
        // in fresh windows, so one of them is refused.
        let mut refused = 0;
        for _ in 0..3 {
            if f.service
                .limit_source(crate::routes::Function::RequestReset, &client)
                .await
                .is_err()
            {
                refused += 1;
            }
        }
        assert!(refused >= 1);
        f.service
            .limit_source(crate::routes::Function::ResetPassword, &client)
            .await
            .unwrap();
        for _ in 0..3 {
            f.service
                .limit_source(
                    crate::routes::Function::RequestReset,
                    &ClientInfo::default(),
                )
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn authorize_checks_key_scope_and_revocation() {
        let f: Fixture = fixture_with(&[]).await;
        let raw = f.add_key(&[Scope::ResetRequest]).await;
        assert!(
            f.service
                .authorize(Some(&format!("  {raw} ")), Scope::ResetRequest)
                .await
                .is_ok()
        );
        assert!(matches!(
            f.service.authorize(Some(&raw), Scope::UsersAdmin).await,
            Err(ResetError::Forbidden(Scope::UsersAdmin))
        ));
        assert!(matches!(
            f.service.authorize(None, Scope::ResetRequest).await,
            Err(ResetError::Unauthenticated)
        ));
        assert!(matches!(
            f.service
                .authorize(Some("rkk_not-a-key"), Scope::ResetRequest)
                .await,
            Err(ResetError::Unauthenticated)
        ));
        let digest = crate::crypto::BearerSecret::parse(crate::crypto::API_KEY_PREFIX, &raw)
            .unwrap()
            .digest();
        f.service.store.revoke_api_key(&digest).await.unwrap();
        assert!(matches!(
            f.service.authorize(Some(&raw), Scope::ResetRequest).await,
            Err(ResetError::Unauthenticated)
        ));
    }

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
        f.service
            .store
            .set_user_disabled(&other.id, true)
            .await
            .unwrap();
        assert!(
            f.service
                .active_account(&other.email, "t")
                .await
                .unwrap()
                .is_none()
        );
    }
}
