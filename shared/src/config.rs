//! Typed configuration from the environment. Every missing or bad variable is
//! named in one error, so an operator fixes them all in one deploy.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::crypto::{ServiceKeys, ServiceSecret};
use crate::link::{CodeUrlTemplate, LinkTemplate};
use crate::password::{HashParams, PasswordPolicies};

mod clients;
pub mod settings;
pub use clients::{ClientAuthMethod, OAuthClient, OAuthClients, PresentedClient, is_scope_token};

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// Where the links in reset mail point.
#[derive(Clone, Debug)]
pub struct LinkTemplates {
    /// Link-token mail (`{token}`) without an `entry`, or with one that is
    /// not configured: the operator's own front end, for every organisation.
    pub default: LinkTemplate,
    /// Payabli's `entry` selects one of these; each belongs to one
    /// organisation and serves only its users.
    pub by_entry: BTreeMap<String, OrgLink>,
    /// Account recovery mail (`{token}`, the `validation_code`).
    pub recover: LinkTemplate,
    /// Signed-link mail (`{user_id}`, `{timestamp}`, `{signature}`).
    pub signed: LinkTemplate,
    /// Zitadel code mail when the client sends no `urlTemplate`.
    pub code: CodeUrlTemplate,
    /// Origins a client's `urlTemplate` may point at, each for the users
    /// of one organisation.
    pub allowed_origins: Vec<OrgOrigin>,
    /// `REKEY_CONTINUE_URL`: the application the hosted page links to after
    /// a successful reset; None, no link.
    pub continue_url: Option<crate::contract::page::ContinueUrl>,
}

/// A Payabli entry's link template and the organisation it belongs to.
#[derive(Clone, Debug)]
pub struct OrgLink {
    pub org: String,
    pub template: LinkTemplate,
}

/// An origin a `urlTemplate` may point at for the users of `org`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgOrigin {
    pub org: String,
    pub origin: String,
}

impl LinkTemplates {
    /// The template for a user of `org` asking with `entry`: the entry's
    /// when it is configured, the default when it is not (or none was
    /// sent), and None when the entry belongs to another organisation.
    pub fn for_entry(&self, entry: Option<&str>, org: &str) -> Option<&LinkTemplate> {
        match entry.and_then(|e| self.by_entry.get(e)) {
            None => Some(&self.default),
            Some(link) if link.org == org => Some(&link.template),
            Some(_) => None,
        }
    }

    /// Whether any organisation allows `origin`: a template pointing
    /// anywhere else is refused before the user is looked up.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.origin == origin)
    }

    /// Whether `origin` is allowed for the users of `org`.
    pub fn origin_allowed_for(&self, org: &str, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o.org == org && o.origin == origin)
    }
}

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

/// The scope tokens carry when `REKEY_OAUTH_SCOPE` is not set.
pub const DEFAULT_OAUTH_SCOPE: &str = "account";

/// The log-in that account recovery ends with (the account-recovery contract).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// `REKEY_TOKEN_ISSUER`; unset, the origin each request reached
    /// (`signing::issuer_for`).
    pub issuer: Option<String>,
    pub audience: String,
    pub client_id: String,
    pub scope: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub keys: ServiceKeys,
    pub links: LinkTemplates,
    pub product_name: String,
    pub token_ttl: Duration,
    /// The password profiles, the blocklists and the optional range check.
    pub policy: PasswordPolicies,
    pub hash_params: HashParams,
    /// The legacy work every password comparison does (imported hashes).
    pub legacy_hashes: crate::password::LegacyBudget,
    pub codes: CodePolicy,
    pub signed_links: SignedLinkPolicy,
    pub session: SessionPolicy,
    /// The token endpoint's clients: the recovery log-in's, then
    /// `REKEY_OAUTH_CLIENTS`.
    pub oauth_clients: OAuthClients,
    /// `resourceOwner` of users without an org.
    pub default_org: String,
    pub limits: Limits,
    /// `REKEY_EDGE_SECRET`: set when the CloudFront edge is deployed.
    pub edge_secret: Option<crate::http::EdgeSecret>,
    /// `REKEY_WEBHOOKS`: where changes are reported (without the secrets,
    /// which only the sender reads).
    pub webhooks: crate::webhook::Endpoints,
    /// `REKEY_DIRECTORY` and the pool's variables: where accounts live.
    pub directory: crate::directory::DirectoryChoice,
}

/// Where variables come from: the process environment, or a map in tests.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads variables from a lookup function so tests need not touch the
/// process environment. The settings in `REKEY_SETTINGS` read as variables
/// too (`settings`).
pub struct EnvReader<'a> {
    lookup: Lookup<'a>,
    settings: BTreeMap<String, String>,
    pub problems: Vec<String>,
}

impl<'a> EnvReader<'a> {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        let (settings, problems) = settings::parse(lookup(settings::VARIABLE).as_deref(), |name| {
            lookup(name).is_some()
        });
        Self {
            lookup: Box::new(lookup),
            settings,
            problems,
        }
    }

    pub fn process() -> EnvReader<'static> {
        EnvReader::new(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).or_else(|| self.settings.get(name).cloned())
    }

    pub fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let v = self.optional(name);
        if v.is_none() {
            self.problems.push(format!("{name} is not set: {what}"));
        }
        v
    }

    /// A parsed value with a default; a value that does not parse is reported.
    pub fn parsed<T: std::str::FromStr>(&mut self, name: &str, default: T, what: &str) -> T {
        match self.optional(name) {
            None => default,
            Some(raw) => match raw.trim().parse() {
                Ok(v) => v,
                Err(_) => {
                    self.problems
                        .push(format!("{name}={raw:?} is not valid: expected {what}"));
                    default
                }
            },
        }
    }

    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = EnvReader::process();
        let config = Self::read(&mut env);
        env.finish()?;
        Ok(config.expect("every problem was reported"))
    }

    /// Reads every variable, recording each problem; returns None when any
    /// required part is missing.
    pub fn read(env: &mut EnvReader<'_>) -> Option<Self> {
        let keys = read_keys(env);

        let default_link = env
            .required(
                "REKEY_RESET_URL",
                "the reset link template, e.g. https://app.example.com/reset?token={token}",
            )
            .and_then(|raw| parse_link(env, "REKEY_RESET_URL", &raw, &["token"]));
        // The other links default to the same front end.
        let front = default_link
            .as_ref()
            .map(LinkTemplate::origin)
            .unwrap_or_else(|| "https://app.example.com".into());
        let recover = env
            .optional("REKEY_RECOVER_URL")
            .unwrap_or_else(|| format!("{front}/account/reset?validation_code={{token}}"));
        let recover = parse_link(env, "REKEY_RECOVER_URL", &recover, &["token"]);
        let signed = env.optional("REKEY_SIGNED_RESET_URL").unwrap_or_else(|| {
            format!("{front}/reset-password/?user_id={{user_id}}&timestamp={{timestamp}}&signature={{signature}}")
        });
        let signed = parse_link(
            env,
            "REKEY_SIGNED_RESET_URL",
            &signed,
            &["user_id", "timestamp", "signature"],
        );
        let code = env.optional("REKEY_CODE_URL").unwrap_or_else(|| {
            format!(
                "{front}/reset/code?userID={{{{.UserID}}}}&code={{{{.Code}}}}&orgID={{{{.OrgID}}}}"
            )
        });
        let code = match CodeUrlTemplate::parse(&code) {
            Ok(t) => Some(t),
            Err(e) => {
                env.problems
                    .push(format!("REKEY_CODE_URL is not valid: {e}"));
                None
            }
        };
        let default_org = env
            .optional("REKEY_DEFAULT_ORG")
            .unwrap_or_else(|| "rekey".into());
        let allowed_origins = match env.optional("REKEY_ALLOWED_LINK_ORIGINS") {
            None => vec![OrgOrigin {
                org: default_org.clone(),
                origin: front.clone(),
            }],
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .filter_map(|tagged| {
                    // `org=origin`, or a bare origin for the default org.
                    let (org, o) = match tagged.split_once('=') {
                        Some((org, o)) => (org.trim().to_string(), o.trim()),
                        None => (default_org.clone(), tagged),
                    };
                    match crate::link::origin(o) {
                        Some(parsed) if parsed == o.trim_end_matches('/') && !org.is_empty() => {
                            Some(OrgOrigin {
                                org,
                                origin: parsed,
                            })
                        }
                        _ => {
                            env.problems.push(format!(
                                "REKEY_ALLOWED_LINK_ORIGINS entry {tagged:?} is not an origin like https://app.example.com, optionally after an organisation and `=`"
                            ));
                            None
                        }
                    }
                })
                .collect(),
        };
        let by_entry = read_entries(env, &default_org);
        let continue_url = crate::contract::page::ContinueUrl::read(env);

        let product_name = read_product_name(env);
        let ttl_secs: u64 = env.parsed("REKEY_TOKEN_TTL_SECONDS", 3600, "whole seconds");
        if ttl_secs == 0 || ttl_secs > 7 * 24 * 3600 {
            env.problems.push(format!(
                "REKEY_TOKEN_TTL_SECONDS={ttl_secs} is out of range: 1 to 604800"
            ));
        }
        let policy = PasswordPolicies::read(env, &product_name);
        let hash_params = HashParams::read(env);
        let legacy_hashes = crate::password::LegacyBudget::read(env);
        let codes = CodePolicy {
            length: env.parsed("REKEY_CODE_LENGTH", 6, "a whole number"),
            ttl: Duration::from_secs(env.parsed("REKEY_CODE_TTL_SECONDS", 3600, "whole seconds")),
            max_attempts: env.parsed("REKEY_CODE_MAX_ATTEMPTS", 5, "a whole number"),
        };
        if !(6..=32).contains(&codes.length) || codes.max_attempts == 0 || codes.ttl.is_zero() {
            env.problems.push(
                "REKEY_CODE_LENGTH must be 6 to 32, REKEY_CODE_MAX_ATTEMPTS and REKEY_CODE_TTL_SECONDS above 0".into(),
            );
        }
        let signed_links = SignedLinkPolicy {
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
        };
        let session = SessionPolicy {
            issuer: env.optional("REKEY_TOKEN_ISSUER"),
            audience: env
                .optional("REKEY_TOKEN_AUDIENCE")
                .unwrap_or_else(|| "rekey".into()),
            client_id: env
                .optional("REKEY_OAUTH_CLIENT_ID")
                .unwrap_or_else(|| "rekey".into()),
            scope: env
                .optional("REKEY_OAUTH_SCOPE")
                .unwrap_or_else(|| DEFAULT_OAUTH_SCOPE.into()),
            access_ttl: Duration::from_secs(env.parsed(
                "REKEY_ACCESS_TOKEN_TTL_SECONDS",
                600,
                "whole seconds",
            )),
            refresh_ttl: Duration::from_secs(env.parsed(
                "REKEY_REFRESH_TOKEN_TTL_SECONDS",
                30 * 24 * 3600,
                "whole seconds",
            )),
        };
        let oauth_clients = clients::read_clients(env, &session);
        let edge_secret = env.optional("REKEY_EDGE_SECRET").and_then(|raw| {
            let parsed = crate::http::EdgeSecret::parse(&raw);
            if parsed.is_none() {
                env.problems.push(format!(
                    "REKEY_EDGE_SECRET must be at least {} ASCII characters",
                    crate::http::EdgeSecret::MIN_LEN
                ));
            }
            parsed
        });
        let limits = Limits {
            email_per_minute: env.parsed("REKEY_LIMIT_EMAIL_PER_MINUTE", 1, "a whole number"),
            email_per_hour: env.parsed("REKEY_LIMIT_EMAIL_PER_HOUR", 5, "a whole number"),
            source_per_minute: env.parsed("REKEY_LIMIT_SOURCE_PER_MINUTE", 60, "a whole number"),
            code_attempts_per_hour: env.parsed(
                "REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR",
                10,
                "a whole number",
            ),
            password_attempts_per_source_per_hour: env.parsed(
                "REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR",
                10,
                "a whole number",
            ),
            password_attempts_per_hour: env.parsed(
                "REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR",
                100,
                "a whole number",
            ),
            audit_retention: Duration::from_secs(
                86400 * env.parsed::<u64>("REKEY_AUDIT_RETENTION_DAYS", 365, "whole days"),
            ),
        };

        let webhooks = crate::webhook::Endpoints::read(env, false);
        let directory = crate::directory::read_choice(env);
        Some(Config {
            directory,
            keys: keys?,
            links: LinkTemplates {
                default: default_link?,
                by_entry,
                recover: recover?,
                signed: signed?,
                code: code?,
                allowed_origins,
                continue_url,
            },
            product_name,
            token_ttl: Duration::from_secs(ttl_secs),
            policy,
            hash_params,
            legacy_hashes,
            codes,
            signed_links,
            session,
            oauth_clients,
            default_org,
            limits,
            edge_secret,
            webhooks,
        })
    }
}

/// An entry's value in `REKEY_RESET_URLS_BY_ENTRY`: a template of the
/// default organisation, or one tagged with its organisation.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum EntryValue {
    Untagged(String),
    Tagged { org: String, url: String },
}

/// `REKEY_RESET_URLS_BY_ENTRY`: a JSON object of entry -> template, or
/// entry -> `{"org": ..., "url": template}`.
fn read_entries(env: &mut EnvReader<'_>, default_org: &str) -> BTreeMap<String, OrgLink> {
    let mut by_entry = BTreeMap::new();
    let Some(raw) = env.optional("REKEY_RESET_URLS_BY_ENTRY") else {
        return by_entry;
    };
    match serde_json::from_str::<BTreeMap<String, EntryValue>>(&raw) {
        Ok(map) => {
            for (entry, value) in map {
                let (org, template) = match value {
                    EntryValue::Untagged(url) => (default_org.to_string(), url),
                    EntryValue::Tagged { org, url } => (org, url),
                };
                if let Some(template) = parse_link(
                    env,
                    &format!("REKEY_RESET_URLS_BY_ENTRY[{entry}]"),
                    &template,
                    &["token"],
                ) {
                    by_entry.insert(entry, OrgLink { org, template });
                }
            }
        }
        Err(e) => env.problems.push(format!(
            "REKEY_RESET_URLS_BY_ENTRY is not a JSON object of entry -> link template (or -> {{\"org\", \"url\"}}): {e}"
        )),
    }
    by_entry
}

fn parse_link(
    env: &mut EnvReader<'_>,
    name: &str,
    raw: &str,
    placeholders: &[&str],
) -> Option<LinkTemplate> {
    match LinkTemplate::parse(raw, placeholders) {
        Ok(t) => Some(t),
        Err(e) => {
            env.problems.push(format!("{name} is not valid: {e}"));
            None
        }
    }
}

/// `REKEY_SECRET` and, during a rotation, `REKEY_SECRET_PREVIOUS`.
pub fn read_keys(env: &mut EnvReader<'_>) -> Option<ServiceKeys> {
    let secret = |name: &str, env: &mut EnvReader<'_>, raw: String| match ServiceSecret::parse(&raw)
    {
        Ok(s) => Some(s),
        Err(e) => {
            env.problems.push(format!("{name} is not valid: {e}"));
            None
        }
    };
    let current = env
        .required(
            "REKEY_SECRET",
            "the service secret (32+ random bytes, base64 or hex; e.g. `openssl rand -base64 32`)",
        )
        .and_then(|raw| secret("REKEY_SECRET", env, raw));
    let previous = env
        .optional("REKEY_SECRET_PREVIOUS")
        .and_then(|raw| secret("REKEY_SECRET_PREVIOUS", env, raw));
    Some(ServiceKeys::new(current?, previous))
}

/// The product name shown in mail (`REKEY_PRODUCT_NAME`, default "rekey").
pub fn read_product_name(env: &EnvReader<'_>) -> String {
    env.optional("REKEY_PRODUCT_NAME")
        .unwrap_or_else(|| "rekey".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut env =
            EnvReader::new(move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
        let config = Config::read(&mut env);
        env.finish().map(|()| config.unwrap())
    }

    #[test]
    fn every_missing_or_bad_variable_is_named_at_once() {
        let err = read(&[
            ("REKEY_TOKEN_TTL_SECONDS", "soon"),
            ("REKEY_PASSWORD_MIN_LENGTH", "200"),
            (
                "REKEY_RESET_URLS_BY_ENTRY",
                r#"{"pp": "https://x.example/no-placeholder"}"#,
            ),
        ])
        .unwrap_err();
        let text = err.to_string();
        for name in [
            "REKEY_SECRET is not set",
            "REKEY_RESET_URL is not set",
            "REKEY_TOKEN_TTL_SECONDS=\"soon\"",
            "REKEY_PASSWORD_MIN_LENGTH",
            "REKEY_RESET_URLS_BY_ENTRY[pp]",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        assert_eq!(err.problems.len(), 5);
    }

    #[test]
    fn settings_read_as_variables_and_their_problems_are_reported_with_the_rest() {
        let secret = crate::crypto::ServiceSecret::generate().1;
        let c = read(&[
            ("REKEY_SECRET", &secret),
            ("REKEY_RESET_URL", "https://app.example/reset?token={token}"),
            (
                "REKEY_SETTINGS",
                r#"{"REKEY_PASSWORD_HISTORY": 4, "REKEY_DEFAULT_ORG": "acme"}"#,
            ),
        ])
        .unwrap();
        assert_eq!(c.policy.history, 4);
        assert_eq!(c.default_org, "acme");
        let err = read(&[
            ("REKEY_RESET_URL", "https://app.example/reset?token={token}"),
            (
                "REKEY_SETTINGS",
                r#"{"REKEY_RECOVERY_PASSWORD_MIN_CLASSES": 9, "REKEY_TABLE": "x"}"#,
            ),
        ])
        .unwrap_err()
        .to_string();
        for problem in [
            "REKEY_SECRET is not set",
            "REKEY_TABLE is not a setting",
            "account-recovery password rule 8..128, 9 classes is not valid",
        ] {
            assert!(err.contains(problem), "{problem} missing from:\n{err}");
        }
    }

    #[test]
    fn link_origins_may_be_tagged_with_an_organisation() {
        let secret = crate::crypto::ServiceSecret::generate().1;
        let c = read(&[
            ("REKEY_SECRET", &secret),
            ("REKEY_RESET_URL", "https://app.example/reset?token={token}"),
            (
                "REKEY_ALLOWED_LINK_ORIGINS",
                "https://app.example, acme=https://acme.example",
            ),
        ])
        .unwrap();
        assert!(c.links.origin_allowed_for("rekey", "https://app.example"));
        assert!(c.links.origin_allowed_for("acme", "https://acme.example"));
        assert!(!c.links.origin_allowed_for("rekey", "https://acme.example"));
        assert!(!c.links.origin_allowed_for("acme", "https://app.example"));
        assert!(c.links.origin_allowed("https://acme.example"));
        let err = read(&[
            ("REKEY_SECRET", &secret),
            ("REKEY_RESET_URL", "https://app.example/reset?token={token}"),
            ("REKEY_ALLOWED_LINK_ORIGINS", "=https://acme.example"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("REKEY_ALLOWED_LINK_ORIGINS"));
    }

    #[test]
    fn defaults_and_entry_templates() {
        let secret = crate::crypto::ServiceSecret::generate().1;
        let c = read(&[
            ("REKEY_SECRET", &secret),
            ("REKEY_RESET_URL", "https://app.example/reset?token={token}"),
            (
                "REKEY_RESET_URLS_BY_ENTRY",
                r#"{"acme": "https://acme.example/r/{token}",
                    "beta": {"org": "beta", "url": "https://beta.example/r/{token}"}}"#,
            ),
        ])
        .unwrap();
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.policy.default, crate::password::PasswordPolicy::nist());
        assert_eq!(
            c.policy.account_recovery,
            crate::password::PasswordPolicy::account_recovery()
        );
        assert_eq!(c.hash_params, HashParams::default());
        let t = [("token", "t")];
        let org = c.default_org.as_str();
        assert_eq!(org, "rekey");
        assert_eq!(
            c.links.for_entry(Some("acme"), org).unwrap().render(&t),
            "https://acme.example/r/t"
        );
        assert_eq!(
            c.links.for_entry(Some("other"), org).unwrap().render(&t),
            "https://app.example/reset?token=t"
        );
        assert_eq!(
            c.links.for_entry(None, org).unwrap().render(&t),
            "https://app.example/reset?token=t"
        );
        // A tagged entry serves its organisation only; an untagged one the
        // default organisation only.
        assert_eq!(
            c.links.for_entry(Some("beta"), "beta").unwrap().render(&t),
            "https://beta.example/r/t"
        );
        assert!(c.links.for_entry(Some("beta"), org).is_none());
        assert!(c.links.for_entry(Some("acme"), "beta").is_none());
        assert_eq!(
            c.links.recover.render(&t),
            "https://app.example/account/reset?validation_code=t"
        );
        assert_eq!(
            c.links.code.render("u", "C", "o"),
            "https://app.example/reset/code?userID=u&code=C&orgID=o"
        );
        assert_eq!(
            c.links.allowed_origins,
            vec![OrgOrigin {
                org: "rekey".into(),
                origin: "https://app.example".into()
            }]
        );
        assert_eq!(
            c.codes,
            CodePolicy {
                length: 6,
                ttl: Duration::from_secs(3600),
                max_attempts: 5
            }
        );
    }
}
