//! The abuse limits: fixed windows counted in the store (`CounterStore`),
//! per source address, per email address, per account and per code.

use std::sync::Arc;

use super::source_bucket;
use crate::clock::Clock;
use crate::config::Limits;
use crate::crypto::ServiceKeys;
use crate::domain::{ClientInfo, EmailAddress, UnixTime, User};
use crate::error::ResetError;
use crate::routes::Function;
use crate::store::CounterStore;

/// The counter window `t` falls in, `window` seconds long and aligned to the
/// epoch, and the seconds until it ends (at least one, for `Retry-After`).
fn window_at(t: i64, window: i64) -> (i64, u64) {
    let start = t - t.rem_euclid(window);
    (start, (start + window - t).max(1) as u64)
}

/// Counts hits against the configured limits.
#[derive(Clone)]
pub struct Limiter {
    counters: Arc<dyn CounterStore>,
    /// Counters named by a value (an address) use its keyed reference.
    keys: ServiceKeys,
    limits: Limits,
    clock: Arc<dyn Clock>,
}

impl Limiter {
    pub fn new(
        counters: Arc<dyn CounterStore>,
        keys: ServiceKeys,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            counters,
            keys,
            limits,
            clock,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counts a hit on `key` in the current `window`; Err with the seconds
    /// left in the window when more than `limit` hits were counted.
    pub(crate) async fn over_limit(
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
    async fn over_limit_by_ref(
        &self,
        value: &str,
        key: impl Fn(&str) -> String,
        window: i64,
        limit: u64,
    ) -> Result<(), ResetError> {
        let keys: Vec<String> = self.keys.log_refs(value).iter().map(|r| key(r)).collect();
        self.over_limit_of_any(&keys, window, limit).await
    }

    async fn over_limit_of_any(
        &self,
        keys: &[String],
        window: i64,
        limit: u64,
    ) -> Result<(), ResetError> {
        let (start, retry_after) = window_at(self.clock.now().secs(), window);
        let (start, expires) = (
            UnixTime::from_secs(start),
            UnixTime::from_secs(start + 2 * window),
        );
        let mut hits = 0;
        for key in keys {
            hits = hits.max(self.counters.count_hit(key, start, expires).await?);
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
        function: Function,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let bucket = source_bucket(client.source_ip.as_deref());
        self.over_limit_by_ref(
            &bucket,
            |r| format!("source:{}:{r}", function.name()),
            60,
            self.limits.source_per_minute,
        )
        .await
    }

    /// Counts one comparison of a presented password with `user`'s: first
    /// per (account, source), then for the account. A source past its share
    /// stops before the account-wide count, so one stranger adds at most
    /// its share to the ceiling the owner shares. A request without a source
    /// address counts as one shared source.
    pub(crate) async fn limit_password_attempts(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        self.limit_password_attempts_on(&password_counter(user), client)
            .await
    }

    /// `limit_password_attempts` for the account counted under `key`
    /// (a sign-in to an unknown address counts under the address's
    /// reference, so its 429 comes as an account's would).
    pub(crate) async fn limit_password_attempts_on(
        &self,
        key: &str,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        // Sources are bucketed as for the per-source limit (an IPv6 /64 is
        // one source) and counted by reference, so a rotation keeps them.
        let source = source_bucket(client.source_ip.as_deref());
        self.over_limit_by_ref(
            &source,
            |r| format!("{key}:{r}"),
            3600,
            self.limits.password_attempts_per_source_per_hour,
        )
        .await?;
        self.over_limit(key, 3600, self.limits.password_attempts_per_hour)
            .await
    }

    /// Counts a reset mail to `email` against the address's per-minute and
    /// per-hour limits, whichever route sends it: one budget per address.
    pub(crate) async fn limit_mail_to(&self, email: &EmailAddress) -> Result<(), ResetError> {
        let address = email.as_str();
        self.over_limit_by_ref(
            address,
            |r| format!("email:{r}:m"),
            60,
            self.limits.email_per_minute,
        )
        .await
        .and(
            self.over_limit_by_ref(
                address,
                |r| format!("email:{r}:h"),
                3600,
                self.limits.email_per_hour,
            )
            .await,
        )
    }

    /// Counts a text to `number` against its per-minute and per-hour
    /// limits (under its keyed reference: the number never reaches the
    /// table), then against the deployment's hourly ceiling.
    pub(crate) async fn limit_text_to(
        &self,
        number: &crate::domain::PhoneNumber,
        policy: &crate::config::TextPolicy,
    ) -> Result<(), ResetError> {
        let number = number.as_str();
        self.over_limit_by_ref(
            number,
            |r| format!("sms:{r}:m"),
            60,
            policy.per_number_per_minute,
        )
        .await?;
        self.over_limit_by_ref(
            number,
            |r| format!("sms:{r}:h"),
            3600,
            policy.per_number_per_hour,
        )
        .await?;
        if let Err(e) = self.over_limit("sms:all:h", 3600, policy.per_hour).await {
            tracing::warn!("the deployment's hourly text ceiling is reached; no text");
            return Err(e);
        }
        Ok(())
    }

    /// Guesses per user across codes: a new code does not buy new guesses.
    pub(crate) async fn limit_code_attempts(&self, user: &User) -> Result<(), ResetError> {
        self.over_limit(
            &format!("code:{}", user.id),
            3600,
            self.limits.code_attempts_per_hour,
        )
        .await
    }
}

/// The counter of comparisons with `user`'s password.
/// The counters belong to the account's credential version: a password
/// change, which only a proof (a mailed link or code, a signed link, the
/// current password) makes, starts them afresh, so strangers who spent the
/// account's ceiling cannot keep the owner out past a reset.
pub(crate) fn password_counter(user: &User) -> String {
    format!("password:{}:v{}", user.id, user.credential_version.0)
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

#[cfg(test)]
#[cfg(feature = "embedded")]
mod flow_tests {
    use crate::ResetError;
    use crate::domain::ClientInfo;
    use crate::testing::fixture_with;

    #[tokio::test]
    async fn over_limit_refuses_the_hit_past_the_limit() {
        let f = fixture_with(&[]).await;
        for _ in 0..3 {
            f.limiter.over_limit("k", 3600, 3).await.unwrap();
        }
        match f.limiter.over_limit("k", 3600, 3).await {
            Err(ResetError::RateLimited { retry_after }) => {
                assert!((1..=3600).contains(&retry_after))
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        // Another key has its own count.
        f.limiter.over_limit("other", 3600, 3).await.unwrap();
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
            if f.limiter
                .limit_source(crate::routes::Function::RequestReset, &client)
                .await
                .is_err()
            {
                refused += 1;
            }
        }
        assert!(refused >= 1);
        f.limiter
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
            if f.limiter
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
}
