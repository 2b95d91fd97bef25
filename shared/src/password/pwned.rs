//! The optional online check against the Pwned Passwords range API
//! (k-anonymity): only the first five hex digits of the password's SHA-1
//! leave the process; the service answers every suffix it knows under that
//! prefix, padded (`Add-Padding: true`) with zero-count decoys so that the
//! answer's size says nothing either; the match is made here.
//!
//! Off unless `REKEY_PWNED_PASSWORDS=on`. Bounded by a short timeout
//! (`REKEY_PWNED_PASSWORDS_TIMEOUT_MS`, 800 ms); when the service is slow,
//! down or answers nonsense, `REKEY_PWNED_PASSWORDS_ON_ERROR` decides:
//! `accept` (the default: the password is judged by the other rules, and a
//! warning is logged) or `refuse` (the contract's 503; nothing is consumed,
//! the user may retry).

use std::time::Duration;

use sha1::{Digest, Sha1};

use crate::config::EnvReader;

/// The public service.
pub const DEFAULT_BASE_URL: &str = "https://api.pwnedpasswords.com";
/// A padded answer is about 40 KB; anything far larger is not one.
#[cfg(feature = "pwned-passwords")]
const MAX_BODY: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    Accept,
    Refuse,
}

/// What the range API said of a password.
#[derive(Debug, PartialEq, Eq)]
pub enum PwnedVerdict {
    NotFound,
    /// Seen this many times in breaches.
    Found(u64),
    /// No usable answer in time.
    Unavailable(RangeError),
}

/// Why the range API gave no usable answer. No variant carries any part of
/// the password, its hash or the prefix sent: these reach the log.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("timeout")]
    Timeout,
    #[error("connection failed")]
    Connect,
    #[error("transport error")]
    Transport,
    /// The base URL does not make a request (configuration checks it).
    #[error("request not built from the base URL")]
    Request,
    #[error("status {0}")]
    Status(u16),
    #[error("body not read")]
    Body,
    #[error("answer too large")]
    TooLarge,
    #[error("answer not UTF-8")]
    NotUtf8,
    #[error("not a range answer")]
    NotARangeAnswer,
    /// Only in a function built without the `pwned-passwords` feature,
    /// which never configures the check.
    #[error("built without the range check")]
    NotBuilt,
}

#[derive(Clone)]
pub struct PwnedCheck {
    pub base_url: String,
    pub timeout: Duration,
    pub on_error: OnError,
    /// Refuse a password seen at least this often.
    pub min_count: u64,
    #[cfg(feature = "pwned-passwords")]
    client: crate::https::HttpsConnector,
}

impl std::fmt::Debug for PwnedCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PwnedCheck")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("on_error", &self.on_error)
            .field("min_count", &self.min_count)
            .finish()
    }
}

/// The five hex digits that are sent, and the 35 that are matched here.
pub fn range_parts(password: &str) -> (String, String) {
    let hex = hex::encode_upper(Sha1::digest(password.as_bytes()));
    (hex[..5].to_string(), hex[5..].to_string())
}

/// The count of `suffix` in a range answer (`SUFFIX:COUNT` lines); padding
/// lines have count 0 and never match. None for an answer that is not one.
pub fn count_in_range(body: &str, suffix: &str) -> Option<u64> {
    let mut found = 0;
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (s, count) = line.split_once(':')?;
        let count: u64 = count.trim().parse().ok()?;
        if s.len() != 35 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        if s.eq_ignore_ascii_case(suffix) {
            found = count;
        }
    }
    Some(found)
}

impl PwnedCheck {
    /// None when the check is off; problems are reported to `env`.
    pub fn read(env: &mut EnvReader<'_>) -> Option<Self> {
        let on = match env
            .optional("REKEY_PWNED_PASSWORDS")
            .as_deref()
            .map(str::trim)
        {
            None | Some("off") => false,
            Some("on") => true,
            Some(other) => {
                env.problems.push(format!(
                    "REKEY_PWNED_PASSWORDS={other:?} is not valid: expected on or off"
                ));
                false
            }
        };
        let base_url = env
            .optional("REKEY_PWNED_PASSWORDS_URL")
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
            .trim_end_matches('/')
            .to_string();
        let timeout_ms: u64 = env.parsed("REKEY_PWNED_PASSWORDS_TIMEOUT_MS", 800, "milliseconds");
        let on_error = match env.optional("REKEY_PWNED_PASSWORDS_ON_ERROR").as_deref() {
            None | Some("accept") => OnError::Accept,
            Some("refuse") => OnError::Refuse,
            Some(other) => {
                env.problems.push(format!(
                    "REKEY_PWNED_PASSWORDS_ON_ERROR={other:?} is not valid: expected accept or refuse"
                ));
                OnError::Accept
            }
        };
        let min_count = env.parsed("REKEY_PWNED_PASSWORDS_MIN_COUNT", 1, "a whole number");
        if !on {
            return None;
        }
        let url_ok = url::Url::parse(&base_url).is_ok_and(|u| {
            u.scheme() == "https"
                || (u.scheme() == "http"
                    && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
        });
        if !url_ok {
            env.problems.push(format!(
                "REKEY_PWNED_PASSWORDS_URL={base_url:?} is not valid: an https URL (http only on the loopback)"
            ));
        }
        if !(50..=5000).contains(&timeout_ms) || min_count == 0 {
            env.problems.push(
                "REKEY_PWNED_PASSWORDS_TIMEOUT_MS must be 50 to 5000 and REKEY_PWNED_PASSWORDS_MIN_COUNT at least 1".into(),
            );
        }
        Self::build(
            base_url,
            Duration::from_millis(timeout_ms),
            on_error,
            min_count,
            env,
        )
    }

    #[cfg(feature = "pwned-passwords")]
    fn build(
        base_url: String,
        timeout: Duration,
        on_error: OnError,
        min_count: u64,
        _: &mut EnvReader<'_>,
    ) -> Option<Self> {
        Some(Self::new(base_url, timeout, on_error, min_count))
    }

    /// A function built without the check checks no password (the five
    /// that do are built with it: template.rs tests that): the settings
    /// are validated like everywhere, so one environment serves every
    /// function, and then ignored.
    #[cfg(not(feature = "pwned-passwords"))]
    fn build(_: String, _: Duration, _: OnError, _: u64, _: &mut EnvReader<'_>) -> Option<Self> {
        None
    }
}

#[cfg(feature = "pwned-passwords")]
impl PwnedCheck {
    pub fn new(base_url: String, timeout: Duration, on_error: OnError, min_count: u64) -> Self {
        let client = crate::https::HttpsConnector::new(Some(timeout), Some(timeout));
        Self {
            base_url,
            timeout,
            on_error,
            min_count,
            client,
        }
    }

    /// Asks the range API about `password` (as typed, after NFKC: the
    /// corpus holds passwords as they were used).
    pub async fn lookup(&self, password: &str) -> PwnedVerdict {
        let (prefix, suffix) = range_parts(password);
        match tokio::time::timeout(self.timeout, self.range(&prefix)).await {
            Err(_) => PwnedVerdict::Unavailable(RangeError::Timeout),
            Ok(Err(reason)) => PwnedVerdict::Unavailable(reason),
            Ok(Ok(body)) => match count_in_range(&body, &suffix) {
                None => PwnedVerdict::Unavailable(RangeError::NotARangeAnswer),
                Some(n) if n >= self.min_count => PwnedVerdict::Found(n),
                Some(_) => PwnedVerdict::NotFound,
            },
        }
    }

    async fn range(&self, prefix: &str) -> Result<String, RangeError> {
        use aws_smithy_runtime_api::client::http::HttpConnector;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::byte_stream::ByteStream;
        let request = http::Request::builder()
            .method("GET")
            .uri(format!("{}/range/{prefix}", self.base_url))
            .header("add-padding", "true")
            .header("user-agent", concat!("rekey/", env!("CARGO_PKG_VERSION")))
            .body(SdkBody::empty())
            .map_err(|_| RangeError::Request)
            .and_then(|r| {
                aws_smithy_runtime_api::http::Request::try_from(r).map_err(|_| RangeError::Request)
            })?;
        let response = self.client.call(request).await.map_err(|e| {
            if e.is_timeout() {
                RangeError::Timeout
            } else if e.is_io() {
                RangeError::Connect
            } else {
                RangeError::Transport
            }
        })?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(RangeError::Status(status));
        }
        let mut stream = ByteStream::new(response.into_body());
        let mut body = Vec::new();
        while let Some(chunk) = stream.try_next().await.map_err(|_| RangeError::Body)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(RangeError::TooLarge);
            }
        }
        String::from_utf8(body).map_err(|_| RangeError::NotUtf8)
    }
}

#[cfg(not(feature = "pwned-passwords"))]
impl PwnedCheck {
    /// Never called: `read` configures no check in such a build.
    pub async fn lookup(&self, _: &str) -> PwnedVerdict {
        PwnedVerdict::Unavailable(RangeError::NotBuilt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_five_hex_digits_are_sent_and_the_match_is_made_here() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        let (prefix, suffix) = range_parts("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n";
        assert_eq!(count_in_range(body, &suffix), Some(9_545_824));
        assert_eq!(
            count_in_range(body, "0018A45C4D1DEF81644B54AB7F969B88D65"),
            Some(0)
        );
        assert_eq!(count_in_range("", &suffix), Some(0));
        assert_eq!(count_in_range("<html>busy</html>", &suffix), None);
    }
}
