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

/// The bucket a source address counts in for the per-source limit: an IPv4
/// address by itself (also when IPv4-mapped in IPv6), an IPv6 address by
/// its /64, which one client routinely holds whole, and a missing or
/// unparsable source in one shared bucket, so dropping the address does
/// not skip the limit.
pub(crate) fn source_bucket(source_ip: Option<&str>) -> String {
    use std::net::{IpAddr, Ipv6Addr};
    match source_ip.and_then(|s| s.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !(u128::MAX >> 64);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
        None => "unknown".into(),
    }
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

    /// The organisation a user belongs to: its own, else the default.
    pub(super) fn org_of(&self, user: &User) -> String {
        user.org
            .clone()
            .unwrap_or_else(|| self.config.default_org.clone())
    }

    /// Whether `key` may act on `user`: only on users of the organisation
    /// the key is bound to, unless it is an operator's key for all.
    pub(super) fn key_reaches(&self, key: &ApiKey, user: &User) -> bool {
        key.org
            .reaches(&self.org_of(user), &self.config.default_org)
    }

    /// Counts a hit on `key` in the current `window`; Err with the seconds
    /// left in the window when more than `limit` hits were counted.
    pub(super) async fn over_limit(
        &self,
        key: &str,
        window: i64,
        limit: u64,
    ) -> Result<(), ResetError> {
        self.over_limit_of_any(&[key.to_string()], window, limit)
            .await
    }

    /// `over_limit` for a counter named by `value`'s keyed reference (the
    /// value itself never reaches the table). While a previous secret is
    /// configured the hit is counted under the reference of each secret and
    /// the larger count decides, so rotating `REKEY_SECRET` does not start
    /// the windows afresh.
    pub(super) async fn over_limit_by_ref(
        &self,
        value: &str,
        key: impl Fn(&str) -> String,
        window: i64,
        limit: u64,
    ) -> Result<(), ResetError> {
        let keys: Vec<String> = self
            .config
            .keys
            .log_refs(value)
            .iter()
            .map(|r| key(r))
            .collect();
        self.over_limit_of_any(&keys, window, limit).await
    }

    async fn over_limit_of_any(
        &self,
        keys: &[String],
        window: i64,
        limit: u64,
    ) -> Result<(), ResetError> {
        let (start, retry_after) = window_at(now(), window);
        let mut hits = 0;
        for key in keys {
            hits = hits.max(self.store.count_hit(key, start, start + 2 * window).await?);
        }
        if hits > limit {
            return Err(ResetError::RateLimited { retry_after });
        }
        Ok(())
    }

    /// Requests from one source to one public endpoint, the source as
    /// `source_bucket` groups it. The bucket is kept only as a keyed digest.
    pub async fn limit_source(
        &self,
        function: crate::routes::Function,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let bucket = source_bucket(client.source_ip.as_deref());
        self.over_limit_by_ref(
            &bucket,
            |r| format!("source:{}:{r}", function.name()),
            60,
            self.config.limits.source_per_minute,
        )
        .await
    }

    /// Counts one comparison of a presented password with `user`'s: first
    /// per (account, source), then for the account. A source past its share
    /// stops before the account-wide count, so one stranger adds at most
    /// its share to the ceiling the owner shares. A request without a source
    /// address counts as one shared source. The counters belong to the
    /// account's credential version: a password change, which only a proof
    /// (a mailed link or code, a signed link, the current password) makes,
    /// starts them afresh, so strangers who spent the account's ceiling
    /// cannot keep the owner out past a reset.
    pub(super) async fn limit_password_attempts(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let key = format!("password:{}:v{}", user.id, user.credential_version.0);
        self.limit_password_attempts_on(&key, client).await
    }

    /// `limit_password_attempts` for the account counted under `key`
    /// (a sign-in to an unknown address counts under the address's
    /// reference, so its 429 comes as an account's would).
    pub(super) async fn limit_password_attempts_on(
        &self,
        key: &str,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let limits = &self.config.limits;
        // Sources are bucketed as for the per-source limit (an IPv6 /64 is
        // one source) and counted by reference, so a rotation keeps them.
        let source = source_bucket(client.source_ip.as_deref());
        self.over_limit_by_ref(
            &source,
            |r| format!("{key}:{r}"),
            3600,
            limits.password_attempts_per_source_per_hour,
        )
        .await?;
        self.over_limit(key, 3600, limits.password_attempts_per_hour)
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
        let email_ref = self.config.keys.log_ref(email.as_str());
        // Looked up first: a directory that fails (a pool's outage) leaves the
        // request to be retried without having spent the address's mail
        // limit. Counted for every address, known or not: the same work
        // either way.
        let user = self.directory.user_by_email(email).await?;
        let limited = self.limit_mail_to(email).await;
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

    /// Counts a reset mail to `email` against the address's per-minute and
    /// per-hour limits, whichever route sends it: one budget per address.
    pub(super) async fn limit_mail_to(&self, email: &EmailAddress) -> Result<(), ResetError> {
        let limits = &self.config.limits;
        let address = email.as_str();
        self.over_limit_by_ref(
            address,
            |r| format!("email:{r}:m"),
            60,
            limits.email_per_minute,
        )
        .await
        .and(
            self.over_limit_by_ref(
                address,
                |r| format!("email:{r}:h"),
                3600,
                limits.email_per_hour,
            )
            .await,
        )
    }
}

#[cfg(test)]
mod source_bucket_tests {
    use super::source_bucket;

    #[test]
    fn ipv4_counts_by_the_full_address() {
        assert_eq!(source_bucket(Some("192.0.2.7")), "192.0.2.7");
        assert_ne!(
            source_bucket(Some("192.0.2.7")),
            source_bucket(Some("192.0.2.8"))
        );
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(
            source_bucket(Some("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            source_bucket(Some("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            source_bucket(Some("2001:db8:1:2::1"))
        );
        assert_ne!(
            source_bucket(Some("2001:db8:1:2::1")),
            source_bucket(Some("2001:db8:1:3::1"))
        );
        // The same /64 however it is written.
        assert_eq!(
            source_bucket(Some("2001:0DB8:0001:0002:0000:0000:0000:0001")),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_counts_as_the_ipv4_address() {
        assert_eq!(source_bucket(Some("::ffff:192.0.2.7")), "192.0.2.7");
        assert_ne!(
            source_bucket(Some("::ffff:192.0.2.7")),
            source_bucket(Some("::ffff:192.0.2.8"))
        );
    }

    #[test]
    fn missing_or_unparsable_sources_share_one_bucket() {
        let shared = source_bucket(None);
        for odd in [
            "",
            "not an address",
            "192.0.2.7:443",
            "[2001:db8::1]",
            "999.1.1.1",
        ] {
            assert_eq!(source_bucket(Some(odd)), shared, "{odd:?}");
        }
        assert_ne!(source_bucket(Some("192.0.2.7")), shared);
        assert_ne!(source_bucket(Some("2001:db8::1")), shared);
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
    async fn source_limit_counts_per_function() {
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
    }

    /// How many of one hit from each of `sources` were refused, with a limit
    /// of one a minute: none when each has a bucket of its own, and all but
    /// at most two when they share one (a minute boundary can split them).
    async fn refused_of_one_each(sources: &[Option<&str>]) -> usize {
        let f = fixture_with(&[("REKEY_LIMIT_SOURCE_PER_MINUTE", "1")]).await;
        let mut refused = 0;
        for source in sources {
            let client = ClientInfo {
                source_ip: source.map(str::to_string),
                ..Default::default()
            };
            if f.service
                .limit_source(crate::routes::Function::RequestReset, &client)
                .await
                .is_err()
            {
                refused += 1;
            }
        }
        refused
    }

    #[tokio::test]
    async fn requests_without_a_usable_source_share_one_limit() {
        let refused =
            refused_of_one_each(&[None, Some(""), Some("not-an-address"), None, Some("::g")]).await;
        assert!(refused >= 3, "refused {refused} of 5");
    }

    #[tokio::test]
    async fn one_ipv6_64_is_one_source() {
        let one_64: Vec<String> = (1..=5).map(|i| format!("2001:db8:7:7::{i:x}")).collect();
        let refused =
            refused_of_one_each(&one_64.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>()).await;
        assert!(refused >= 3, "refused {refused} of 5");
        // A mapped IPv4 address counts as that IPv4 address.
        let refused = refused_of_one_each(&[
            Some("192.0.2.9"),
            Some("::ffff:192.0.2.9"),
            Some("192.0.2.9"),
            Some("::ffff:c000:209"),
            Some("192.0.2.9"),
        ])
        .await;
        assert!(refused >= 3, "refused {refused} of 5");
        // Other /64s and other IPv4 addresses have counts of their own.
        let refused = refused_of_one_each(&[
            Some("2001:db8:7:7::1"),
            Some("2001:db8:7:8::1"),
            Some("2001:db8:7:9::1"),
            Some("192.0.2.9"),
            Some("192.0.2.10"),
        ])
        .await;
        assert_eq!(refused, 0);
    }

    /// A stranger past its source's share is refused while the owner, from
    /// another source, still gets through; the account-wide ceiling counts
    /// only what the sources were allowed.
    #[tokio::test]
    async fn password_attempts_are_limited_per_source_then_per_account() {
        let f = fixture_with(&[
            ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "2"),
            ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "5"),
        ])
        .await;
        let user = f.add_user("ada@example.com").await;
        let from = |ip: &str| ClientInfo {
            source_ip: Some(ip.into()),
            ..Default::default()
        };
        let stranger = from("192.0.2.66");
        for _ in 0..2 {
            assert!(
                !f.service
                    .verify_password(&user, "Guess-Guess-1", &stranger)
                    .await
                    .unwrap()
            );
        }
        for _ in 0..10 {
            assert!(matches!(
                f.service
                    .verify_password(&user, "Guess-Guess-1", &stranger)
                    .await,
                Err(ResetError::RateLimited { .. })
            ));
        }
        let owner = from("198.51.100.1");
        let old = super::super::testing::OLD_PASSWORD;
        assert!(f.service.verify_password(&user, old, &owner).await.unwrap());
        // Without a source address, requests share one bucket.
        let unknown = ClientInfo::default();
        for _ in 0..2 {
            f.service
                .verify_password(&user, "Guess-Guess-1", &unknown)
                .await
                .unwrap();
        }
        // 2 + 1 + 2 reached the account: its ceiling of 5 is met.
        assert!(matches!(
            f.service
                .verify_password(&user, old, &from("203.0.113.9"))
                .await,
            Err(ResetError::RateLimited { .. })
        ));
        // Another account has its own budget.
        let other = f.add_user("grace@example.com").await;
        assert!(
            f.service
                .verify_password(&other, old, &stranger)
                .await
                .unwrap()
        );
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
