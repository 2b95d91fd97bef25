//! Time as the store keeps it: whole seconds since the Unix epoch. Flows
//! never read the clock themselves; they are given the time by a
//! [`crate::clock::Clock`], so tests move it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch; the store's one time unit. Stored and
/// sealed as the bare number.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(i64);

impl UnixTime {
    pub const EPOCH: UnixTime = UnixTime(0);

    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    pub const fn secs(self) -> i64 {
        self.0
    }

    /// `ttl` later: when something issued now with that lifetime expires.
    pub fn plus(self, ttl: Duration) -> Self {
        Self(self.0.saturating_add(secs_of(ttl)))
    }

    /// `ttl` earlier.
    pub fn minus(self, ttl: Duration) -> Self {
        Self(self.0.saturating_sub(secs_of(ttl)))
    }

    /// Whole seconds from `earlier` to this time (negative when `earlier`
    /// is later), saturating at the ends of i64.
    pub fn seconds_since(self, earlier: UnixTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

fn secs_of(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl std::ops::Add<Duration> for UnixTime {
    type Output = UnixTime;
    fn add(self, ttl: Duration) -> UnixTime {
        self.plus(ttl)
    }
}

impl std::ops::Sub<Duration> for UnixTime {
    type Output = UnixTime;
    fn sub(self, ttl: Duration) -> UnixTime {
        self.minus(ttl)
    }
}

impl std::fmt::Display for UnixTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_keeps_whole_seconds() {
        let t = UnixTime::from_secs(1_700_000_000);
        assert_eq!(t.plus(Duration::from_secs(3600)).secs(), 1_700_003_600);
        assert_eq!(t.minus(Duration::from_millis(1500)).secs(), 1_699_999_999);
        assert_eq!(
            t.plus(Duration::from_secs(60)).seconds_since(t),
            60,
            "seconds between two times"
        );
        assert_eq!(
            UnixTime::from_secs(i64::MAX).plus(Duration::MAX).secs(),
            i64::MAX
        );
        assert_eq!(
            UnixTime::from_secs(i64::MIN).seconds_since(UnixTime::from_secs(1)),
            i64::MIN
        );
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000");
    }
}
