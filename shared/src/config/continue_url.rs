//! `REKEY_CONTINUE_URL`: where the hosted page sends the user after a
//! successful reset (its "continue" link).

use url::{Host, Url};

use super::EnvReader;

/// The variable naming the application the page links to after success.
pub const VARIABLE: &str = "REKEY_CONTINUE_URL";

/// Why a continue link is refused.
#[derive(Debug, thiserror::Error)]
pub enum ContinueUrlError {
    #[error("{raw:?} is not a URL: {source}")]
    NotUrl {
        raw: String,
        #[source]
        source: url::ParseError,
    },
    #[error("{raw:?} must be an https URL (http only on a loopback host)")]
    NotHttps { raw: String },
    #[error("{raw:?} must not carry a user name or password")]
    Credentials { raw: String },
    #[error("{raw:?} is not on REKEY_ALLOWED_LINK_ORIGINS (its origin {origin} must be listed)")]
    NotListed { raw: String, origin: String },
}

/// An application URL the page may link to: https (or http on a loopback
/// host, for local development), no user info, and on
/// `REKEY_ALLOWED_LINK_ORIGINS` when that list is set. Fixed by the
/// operator, so the link never carries anything from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinueUrl(Url);

impl ContinueUrl {
    /// Checks `raw` against the rules above; `allowed` is the raw
    /// `REKEY_ALLOWED_LINK_ORIGINS` list when it is set.
    pub fn parse(raw: &str, allowed: Option<&str>) -> Result<Self, ContinueUrlError> {
        let url = Url::parse(raw.trim()).map_err(|source| ContinueUrlError::NotUrl {
            raw: raw.to_string(),
            source,
        })?;
        let loopback = match url.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(ContinueUrlError::NotHttps {
                    raw: raw.to_string(),
                });
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ContinueUrlError::Credentials {
                raw: raw.to_string(),
            });
        }
        if let Some(list) = allowed {
            let origin = url.origin().ascii_serialization();
            // Entries are `org=origin` or a bare origin; any organisation's
            // origin will do, as the page links every user to the same place.
            let listed = list
                .split(',')
                .map(|entry| entry.split_once('=').map_or(entry, |(_, o)| o))
                .filter_map(|o| crate::url_template::origin(o.trim()))
                .any(|o| o == origin);
            if !listed {
                return Err(ContinueUrlError::NotListed {
                    raw: raw.to_string(),
                    origin,
                });
            }
        }
        Ok(Self(url))
    }

    /// `REKEY_CONTINUE_URL`, checked against `allowed` (the value of
    /// `REKEY_ALLOWED_LINK_ORIGINS`, read once by the caller); a bad value
    /// is recorded as a problem.
    pub fn read(env: &mut EnvReader<'_>, allowed: Option<&str>) -> Option<Self> {
        let raw = env.optional(VARIABLE)?;
        match Self::parse(&raw, allowed) {
            Ok(url) => Some(url),
            Err(e) => {
                env.problems.push(format!("{VARIABLE} is not valid: {e}"));
                None
            }
        }
    }

    /// The URL as the URL standard serialises it.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_http_without_user_info() {
        for ok in [
            "https://app.example.com/",
            "https://app.example.com/welcome?from=reset",
            "http://localhost:5173/signed-in",
            "http://127.0.0.1:3000/",
            "http://[::1]/",
        ] {
            assert!(ContinueUrl::parse(ok, None).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/",
            "http://127.0.0.1.example.net/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://app.example.com/",
            "https://user:pass@app.example.com/",
            "https://user@app.example.com/",
            "/relative",
            "",
        ] {
            assert!(ContinueUrl::parse(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_set_origin_list_must_name_it() {
        let list = "https://app.example.com, acme=https://acme.example";
        assert!(ContinueUrl::parse("https://app.example.com/home", Some(list)).is_ok());
        assert!(ContinueUrl::parse("https://acme.example/", Some(list)).is_ok());
        let err = ContinueUrl::parse("https://evil.example/", Some(list))
            .unwrap_err()
            .to_string();
        assert!(err.contains("REKEY_ALLOWED_LINK_ORIGINS"), "{err}");
        // The port is part of the origin.
        assert!(ContinueUrl::parse("https://app.example.com:8443/", Some(list)).is_err());
    }

    #[test]
    fn read_reports_a_bad_value_by_name() {
        let mut env = EnvReader::new(|k| (k == VARIABLE).then(|| "http://app.example/".into()));
        assert!(ContinueUrl::read(&mut env, None).is_none());
        assert_eq!(env.problems.len(), 1);
        assert!(env.problems[0].starts_with(VARIABLE), "{:?}", env.problems);
        let mut unset = EnvReader::new(|_| None);
        assert!(ContinueUrl::read(&mut unset, None).is_none());
        assert!(unset.problems.is_empty());
    }
}
