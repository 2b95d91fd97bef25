//! Typed configuration: the one place rekey reads its environment. Every
//! variable is listed in [`variables::VARIABLES`] and documented in the
//! table of docs/operations.md (a test compares them); every missing or bad
//! variable is named in one error, so an operator fixes them all in one
//! deploy. Each part of the configuration has its own file and reader;
//! [`Config`] composes what the reset service needs, and the settings in
//! `functions.rs` what each kind of function reads at init.

use std::time::Duration;

use crate::crypto::ServiceKeys;
use crate::password::{HashParams, PasswordPolicies};

mod clients;
mod continue_url;
mod directory;
mod env;
mod environment;
mod functions;
mod links;
mod password_policy;
mod platform;
mod policies;
mod service_secret;
mod session;
pub mod settings;
mod signing_keys;
pub mod stored_secrets;
pub mod variables;
mod webhooks;

pub use clients::{ClientAuthMethod, OAuthClient, OAuthClients, PresentedClient, is_scope_token};
pub use continue_url::ContinueUrl;
pub use directory::{CLIENT_ID_VAR, DIRECTORY_VAR, DirectoryChoice, POOL_ID_VAR};
pub use env::EnvReader;
pub use environment::Environment;
pub use functions::{
    DiscoverySettings, PageSettings, ServiceSettings, StoreSettings, StreamSettings, TextSender,
    mail_from_or, read_mail_from, read_template_dir,
};
pub use links::{LinkTemplates, OrgLink, OrgOrigin};
pub use platform::{AWS_SERVICES, AwsEnvironment, LogSettings, in_lambda};
pub use policies::{CodePolicy, Limits, SignedLinkPolicy, TextPolicy};
pub use service_secret::{read_keys, read_product_name};
pub use session::{DEFAULT_OAUTH_SCOPE, SessionPolicy};
pub use signing_keys::{
    KeyUse, SIGNING_KEY_NEXT_VAR, SIGNING_KEY_PREVIOUS_VAR, SIGNING_KEY_VAR, SigningKeys,
};
pub use webhooks::{RetryQueues, WebhookDelivery, read_endpoints};

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// What the reset service and its contracts are configured with.
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
    pub sms: TextPolicy,
    /// `REKEY_EDGE_SECRET`: set when the CloudFront edge is deployed.
    pub edge_secret: Option<crate::http::EdgeSecret>,
    /// `REKEY_WEBHOOKS`: where changes are reported (without the secrets,
    /// which only the sender reads).
    pub webhooks: crate::webhook::endpoint::Endpoints,
    /// `REKEY_DIRECTORY` and the pool's variables: where accounts live.
    pub directory: DirectoryChoice,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = EnvReader::process();
        let config = Self::read(&mut env);
        env.finish_with(config)
    }

    /// Reads every variable, recording each problem; returns None when any
    /// required part is missing.
    pub fn read(env: &mut EnvReader<'_>) -> Option<Self> {
        let keys = read_keys(env);
        let default_org = env
            .optional("REKEY_DEFAULT_ORG")
            .unwrap_or_else(|| "rekey".into());
        let links = LinkTemplates::read(env, &default_org);
        let product_name = read_product_name(env);
        let token_ttl = policies::read_token_ttl(env);
        let policy = PasswordPolicies::read(env, &product_name);
        let hash_params = password_policy::read_hash_params(env);
        let legacy_hashes = password_policy::read_legacy_budget(env);
        let codes = CodePolicy::read(env);
        let signed_links = SignedLinkPolicy::read(env);
        let session = SessionPolicy::read(env);
        let oauth_clients = clients::read_clients(env, &session);
        let edge_secret = read_edge_secret(env);
        let limits = Limits::read(env);
        let sms = TextPolicy::read(env);
        let webhooks = read_endpoints(env, false);
        let directory = directory::read_choice(env);
        Some(Config {
            directory,
            keys: keys?,
            links: links?,
            product_name,
            token_ttl,
            policy,
            hash_params,
            legacy_hashes,
            codes,
            signed_links,
            session,
            oauth_clients,
            default_org,
            limits,
            sms,
            edge_secret,
            webhooks,
        })
    }
}

/// `REKEY_EDGE_SECRET`, when the CloudFront edge is deployed.
fn read_edge_secret(env: &mut EnvReader<'_>) -> Option<crate::http::EdgeSecret> {
    let raw = env.optional("REKEY_EDGE_SECRET")?;
    let parsed = crate::http::EdgeSecret::parse(&raw);
    if parsed.is_none() {
        env.problems.push(format!(
            "REKEY_EDGE_SECRET must be at least {} ASCII characters",
            crate::http::EdgeSecret::MIN_LEN
        ));
    }
    parsed
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

    /// Configuration is a leaf of the crate: it imports no contract,
    /// service, flow, store or wiring (each of those reads its settings
    /// from here, never the other way round).
    #[test]
    fn config_imports_no_contract_service_or_store() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/config"));
        let mut files = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            for layer in [
                "contract",
                "reset",
                "sign_in",
                "resource_server",
                "guard",
                "store",
                "app",
                "wiring",
                "delivery",
                "directory",
            ] {
                assert!(
                    !text.contains(&format!("crate::{layer}::"))
                        && !text.contains(&format!("crate::{layer};")),
                    "{} imports crate::{layer}",
                    path.display()
                );
            }
        }
        assert!(files > 10, "{files} files read");
    }
}
