//! The endpoints webhooks go to, parsed from configuration
//! (`config::read_endpoints`): `REKEY_WEBHOOKS` (a JSON array of name, url,
//! events, include_password_hash) everywhere a change is queued, and
//! `REKEY_WEBHOOK_SECRETS` (a JSON object of name -> `whsec_...`) only
//! where webhooks are sent.

use std::time::Duration;

use serde::Deserialize;

use super::event::EventType;
use super::secret::WebhookSecret;

/// At most this many endpoints: each is one more item in the password
/// change's transaction.
pub const MAX_ENDPOINTS: usize = 10;

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub name: String,
    pub url: url::Url,
    /// The event types it is sent; never empty.
    pub events: Vec<EventType>,
    /// Adds the new password's PHC string as `password_hash`.
    pub include_password_hash: bool,
    /// Present where webhooks are sent (send-email, rekeyctl).
    pub secret: Option<WebhookSecret>,
}

/// The configured endpoints and the retry schedule; empty by default.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub endpoints: Vec<Endpoint>,
    /// The waits before each retry after a failed attempt; after the last
    /// retry fails the message goes to the dead-letter queue.
    pub retry_delays: Vec<Duration>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            retry_delays: DEFAULT_RETRY_DELAYS.map(Duration::from_secs).to_vec(),
        }
    }
}

/// Seconds; each fits SQS's 15-minute message delay.
pub const DEFAULT_RETRY_DELAYS: [u64; 6] = [10, 60, 300, 900, 900, 900];
const MAX_DELAY_SECONDS: u64 = 900;

/// Why an endpoint's URL is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("{raw:?} is not a URL ({source})")]
    NotUrl {
        raw: String,
        #[source]
        source: url::ParseError,
    },
    #[error("{scheme} holds credentials: sign with the secret instead")]
    Credentials { scheme: String },
    #[error("{raw:?} is not https (http only to 127.0.0.1, localhost or [::1], for local use)")]
    NotHttps { raw: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointEntry {
    name: String,
    url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    include_password_hash: bool,
}

/// https, or http to the loopback for local use; no credentials in it.
pub fn check_url(raw: &str) -> Result<url::Url, EndpointError> {
    let url = url::Url::parse(raw.trim()).map_err(|source| EndpointError::NotUrl {
        raw: raw.to_string(),
        source,
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::Credentials {
            scheme: url.scheme().to_string(),
        });
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(EndpointError::NotHttps {
            raw: raw.to_string(),
        }),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Endpoints {
    /// Parses both variables' values; `secrets` None where webhooks are
    /// only queued. Every problem is reported, none quotes a secret.
    pub fn parse(
        endpoints: Option<&str>,
        secrets: Option<&str>,
        delays: Option<&str>,
    ) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let entries: Vec<EndpointEntry> = match endpoints {
            None => Vec::new(),
            Some(raw) => serde_json::from_str(raw).unwrap_or_else(|e| {
                problems.push(format!(
                    "REKEY_WEBHOOKS is not a JSON array of {{\"name\", \"url\", \"events\", \"include_password_hash\"}}: {e}"
                ));
                Vec::new()
            }),
        };
        let secrets: Option<std::collections::BTreeMap<String, String>> = secrets.map(|raw| {
            serde_json::from_str(raw).unwrap_or_else(|_| {
                problems.push(
                    "REKEY_WEBHOOK_SECRETS is not a JSON object of endpoint name -> \"whsec_...\""
                        .into(),
                );
                Default::default()
            })
        });
        if entries.len() > MAX_ENDPOINTS {
            problems.push(format!(
                "REKEY_WEBHOOKS names {} endpoints: at most {MAX_ENDPOINTS}",
                entries.len()
            ));
        }
        let mut out = Vec::new();
        for entry in entries {
            let name = entry.name.clone();
            let mut problem =
                |what: String| problems.push(format!("webhook endpoint {name:?}: {what}"));
            if !valid_name(&entry.name) {
                problem("a name is 1 to 64 letters, digits, '-', '_' or '.'".into());
                continue;
            }
            if out.iter().any(|e: &Endpoint| e.name == entry.name) {
                problem("named twice".into());
                continue;
            }
            let url = match check_url(&entry.url) {
                Ok(url) => url,
                Err(e) => {
                    problem(e.to_string());
                    continue;
                }
            };
            let events = match entry.events {
                None => vec![EventType::PasswordChanged, EventType::AccountDisabled],
                Some(names) => {
                    let parsed: Vec<Option<EventType>> =
                        names.iter().map(|n| EventType::parse(n)).collect();
                    if names.is_empty() || parsed.iter().any(Option::is_none) {
                        problem(format!(
                            "events is a non-empty list of {}, {}",
                            EventType::PasswordChanged.as_str(),
                            EventType::AccountDisabled.as_str()
                        ));
                        continue;
                    }
                    parsed.into_iter().flatten().collect()
                }
            };
            let secret = match secrets.as_ref().map(|s| s.get(&entry.name)) {
                None => None,
                Some(None) => {
                    problem("has no secret in REKEY_WEBHOOK_SECRETS".into());
                    continue;
                }
                Some(Some(raw)) => match WebhookSecret::parse(raw) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        problem(format!(
                            "its secret in REKEY_WEBHOOK_SECRETS is not valid: {e}"
                        ));
                        continue;
                    }
                },
            };
            out.push(Endpoint {
                name: entry.name,
                url,
                events,
                include_password_hash: entry.include_password_hash,
                secret,
            });
        }
        let retry_delays = match delays {
            None => Self::default().retry_delays,
            Some(raw) => {
                let parsed: Result<Vec<u64>, _> =
                    raw.split(',').map(|d| d.trim().parse::<u64>()).collect();
                match parsed {
                    Ok(d) if d.iter().all(|s| (1..=MAX_DELAY_SECONDS).contains(s)) => {
                        d.into_iter().map(Duration::from_secs).collect()
                    }
                    _ => {
                        problems.push(format!(
                            "REKEY_WEBHOOK_RETRY_DELAYS={raw:?} is not valid: comma-separated whole seconds, each 1 to {MAX_DELAY_SECONDS}"
                        ));
                        Vec::new()
                    }
                }
            }
        };
        if problems.is_empty() {
            Ok(Self {
                endpoints: out,
                retry_delays,
            })
        } else {
            Err(problems)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    pub fn named(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The endpoints whose filter takes `event`.
    pub fn wanting(&self, event: EventType) -> impl Iterator<Item = &Endpoint> {
        self.endpoints
            .iter()
            .filter(move |e| e.events.contains(&event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn https_anywhere_http_only_to_the_loopback() {
        for ok in [
            "https://app.example.com/hooks",
            "http://127.0.0.1:8090/hook",
            "http://localhost/hook",
            "http://[::1]:9000/",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/hooks",
            "http://10.0.0.1/hook",
            "http://127.0.0.2/hook",
            "http://localhost.example.com/",
            "ftp://app.example.com/",
            "https://user:pw@app.example.com/",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints_with_filters_and_secrets() {
        let e = Endpoints::parse(
            Some(
                r#"[{"name": "app", "url": "https://app.example.com/h"},
                    {"name": "audit", "url": "http://127.0.0.1:9/h", "events": ["account.disabled"], "include_password_hash": true}]"#,
            ),
            Some(&format!(r#"{{"app": "{SECRET}", "audit": "{SECRET}"}}"#)),
            Some("1, 2"),
        )
        .unwrap();
        assert_eq!(e.endpoints.len(), 2);
        assert!(!e.endpoints[0].include_password_hash);
        assert!(e.endpoints[1].include_password_hash);
        let names = |t| e.wanting(t).map(|e| e.name.as_str()).collect::<Vec<_>>();
        assert_eq!(names(EventType::PasswordChanged), ["app"]);
        assert_eq!(names(EventType::AccountDisabled), ["app", "audit"]);
        assert_eq!(
            e.retry_delays,
            [Duration::from_secs(1), Duration::from_secs(2)]
        );
        assert!(e.named("app").unwrap().secret.is_some());
        // Where changes are only queued, no secret is needed.
        let queued = Endpoints::parse(
            Some(r#"[{"name": "app", "url": "https://a.example/h"}]"#),
            None,
            None,
        )
        .unwrap();
        assert!(queued.endpoints[0].secret.is_none());
        assert_eq!(queued.retry_delays.len(), DEFAULT_RETRY_DELAYS.len());
        assert!(Endpoints::parse(None, None, None).unwrap().is_empty());
    }

    #[test]
    fn every_problem_is_named_and_no_secret_quoted() {
        let problems = Endpoints::parse(
            Some(
                r#"[{"name": "plain", "url": "http://app.example.com/h"},
                    {"name": "nosecret", "url": "https://a.example/h"},
                    {"name": "bad", "url": "https://a.example/h"},
                    {"name": "filter", "url": "https://a.example/h", "events": ["password.reset"]},
                    {"name": "good", "url": "https://a.example/h"},
                    {"name": "good", "url": "https://a.example/h"}]"#,
            ),
            Some(&format!(
                r#"{{"plain": "x", "bad": "whsec_c2hvcnQ=", "filter": "x", "good": "{SECRET}"}}"#
            )),
            Some("0,5"),
        )
        .err()
        .unwrap();
        let all = problems.join("\n");
        for expected in [
            "\"plain\"",
            "is not https",
            "\"nosecret\": has no secret",
            "\"bad\": its secret",
            "\"filter\": events",
            "\"good\": named twice",
            "REKEY_WEBHOOK_RETRY_DELAYS",
        ] {
            assert!(all.contains(expected), "{expected} not in {all}");
        }
        assert!(!all.contains("c2hvcnQ") && !all.contains("MfKQ"), "{all}");
        assert!(Endpoints::parse(Some("{}"), None, None).is_err());
    }
}
