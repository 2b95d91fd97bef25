//! How long credentials live and how often they may be tried: link
//! tokens, Zitadel's codes, signed links, and the abuse limits.

use std::time::Duration;

use super::EnvReader;

/// Zitadel's short codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodePolicy {
    pub length: usize,
    pub ttl: Duration,
    pub max_attempts: u32,
}

/// django-rest-registration's signed links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedLinkPolicy {
    pub ttl: Duration,
    /// How far in the future a timestamp may be (clock skew).
    pub max_skew: Duration,
}

/// Abuse limits (fixed windows, counted in the store) and audit retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Reset mails to one address; past either, the same 200 and no mail.
    pub email_per_minute: u64,
    pub email_per_hour: u64,
    /// Requests from one source address to one public endpoint; past it, 429.
    pub source_per_minute: u64,
    /// Code guesses for one user across codes; past it, 429.
    pub code_attempts_per_hour: u64,
    /// Comparisons with one user's password (the current-password proof,
    /// the history check) from one source per hour; past it, 429.
    pub password_attempts_per_source_per_hour: u64,
    /// The same from all sources together: far above one source's share,
    /// so that one stranger cannot lock the owner out.
    pub password_attempts_per_hour: u64,
    pub audit_retention: Duration,
}

/// `REKEY_TOKEN_TTL_SECONDS`: how long a link token lives (1 s to 7 days).
pub(super) fn read_token_ttl(env: &mut EnvReader<'_>) -> Duration {
    let ttl_secs: u64 = env.parsed("REKEY_TOKEN_TTL_SECONDS", 3600, "whole seconds");
    if ttl_secs == 0 || ttl_secs > 7 * 24 * 3600 {
        env.problems.push(format!(
            "REKEY_TOKEN_TTL_SECONDS={ttl_secs} is out of range: 1 to 604800"
        ));
    }
    Duration::from_secs(ttl_secs)
}

impl CodePolicy {
    pub(super) fn read(env: &mut EnvReader<'_>) -> Self {
        let codes = Self {
            length: env.parsed("REKEY_CODE_LENGTH", 6, "a whole number"),
            ttl: Duration::from_secs(env.parsed("REKEY_CODE_TTL_SECONDS", 3600, "whole seconds")),
            max_attempts: env.parsed("REKEY_CODE_MAX_ATTEMPTS", 5, "a whole number"),
        };
        if !(6..=32).contains(&codes.length) || codes.max_attempts == 0 || codes.ttl.is_zero() {
            env.problems.push(
                "REKEY_CODE_LENGTH must be 6 to 32, REKEY_CODE_MAX_ATTEMPTS and REKEY_CODE_TTL_SECONDS above 0".into(),
            );
        }
        codes
    }
}

impl SignedLinkPolicy {
    pub(super) fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            ttl: Duration::from_secs(env.parsed(
                "REKEY_SIGNED_LINK_TTL_SECONDS",
                24 * 3600,
                "whole seconds",
            )),
            max_skew: Duration::from_secs(env.parsed(
                "REKEY_SIGNED_LINK_MAX_SKEW_SECONDS",
                300,
                "whole seconds",
            )),
        }
    }
}

impl Limits {
    pub(super) fn read(env: &mut EnvReader<'_>) -> Self {
        let count = "a whole number";
        Self {
            email_per_minute: env.parsed("REKEY_LIMIT_EMAIL_PER_MINUTE", 1, count),
            email_per_hour: env.parsed("REKEY_LIMIT_EMAIL_PER_HOUR", 5, count),
            source_per_minute: env.parsed("REKEY_LIMIT_SOURCE_PER_MINUTE", 60, count),
            code_attempts_per_hour: env.parsed("REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR", 10, count),
            password_attempts_per_source_per_hour: env.parsed(
                "REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR",
                10,
                count,
            ),
            password_attempts_per_hour: env.parsed(
                "REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR",
                100,
                count,
            ),
            audit_retention: Duration::from_secs(
                86400 * env.parsed::<u64>("REKEY_AUDIT_RETENTION_DAYS", 365, "whole days"),
            ),
        }
    }
}
