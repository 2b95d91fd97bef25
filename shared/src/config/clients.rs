//! The OAuth clients the token endpoint serves (`REKEY_OAUTH_CLIENTS`),
//! and the recovery log-in's client, which is always one of them. Only
//! clients the operator marks first-party may use the password grant: the
//! recovery client is public, so it gets it only with
//! `REKEY_OAUTH_CLIENT_FIRST_PARTY=true` (the local server's demo sets it).

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{EnvReader, SessionPolicy};

/// How a client proves itself at the token and revocation endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// A public client: its id alone, no secret.
    None,
    /// HTTP Basic with the id and the secret (RFC 6749 2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::None => "none",
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

/// A configured client. Its secret is kept as a SHA-256 digest only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: String,
    secret_sha256: Option<[u8; 32]>,
    pub auth_method: ClientAuthMethod,
    /// The scopes it may ask for.
    pub scopes: Vec<String>,
    /// What it gets when it asks for none.
    pub default_scope: Vec<String>,
    /// The `aud` of its access tokens.
    pub audience: String,
    /// May use the password grant: only a team's own front end.
    pub first_party: bool,
}

/// What a request presented as its client's identity.
pub struct PresentedClient {
    pub id: String,
    pub secret: Option<zeroize::Zeroizing<String>>,
    pub method: ClientAuthMethod,
}

impl OAuthClient {
    /// Whether `presented` proves this client: the configured method, and
    /// the secret whose digest is configured, compared in constant time.
    pub fn accepts(&self, presented: &PresentedClient) -> bool {
        let method_matches = presented.method == self.auth_method;
        let secret_matches = match (&self.secret_sha256, &presented.secret) {
            (None, None) => true,
            (Some(expected), Some(secret)) => {
                let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
                bool::from(digest.ct_eq(expected))
            }
            _ => false,
        };
        method_matches && secret_matches
    }
}

/// Every client, the recovery log-in's first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClients(Vec<OAuthClient>);

impl OAuthClients {
    pub fn find(&self, id: &str) -> Option<&OAuthClient> {
        self.0.iter().find(|c| c.id == id)
    }

    pub fn all(&self) -> &[OAuthClient] {
        &self.0
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    id: String,
    #[serde(default)]
    secret_sha256: Option<String>,
    auth_method: ClientAuthMethod,
    scopes: Vec<String>,
    #[serde(default)]
    default_scope: Option<Vec<String>>,
    audience: String,
    #[serde(default)]
    first_party: bool,
}

/// RFC 6749 3.3: a scope token is one or more of %x21 / %x23-5B / %x5D-7E.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The recovery log-in's client (public, its audience and scope;
/// first-party only when `REKEY_OAUTH_CLIENT_FIRST_PARTY` says so), then
/// those of `REKEY_OAUTH_CLIENTS`.
pub(super) fn read_clients(env: &mut EnvReader<'_>, session: &SessionPolicy) -> OAuthClients {
    let scope: Vec<String> = session.scope.split(' ').map(str::to_string).collect();
    // Anyone can name a public client: it must not open the password grant
    // unless the operator asks for that.
    let first_party = env.parsed("REKEY_OAUTH_CLIENT_FIRST_PARTY", false, "true or false");
    let mut clients = vec![OAuthClient {
        id: session.client_id.clone(),
        secret_sha256: None,
        auth_method: ClientAuthMethod::None,
        scopes: scope.clone(),
        default_scope: scope,
        audience: session.audience.clone(),
        first_party,
    }];
    let Some(raw) = env.optional("REKEY_OAUTH_CLIENTS") else {
        return OAuthClients(clients);
    };
    let entries: Vec<ClientEntry> = match serde_json::from_str(&raw) {
        Ok(e) => e,
        Err(e) => {
            env.problems.push(format!(
                "REKEY_OAUTH_CLIENTS is not a JSON list of clients \
                 ({{id, secret_sha256?, auth_method, scopes, default_scope?, audience, first_party?}}): {e}"
            ));
            return OAuthClients(clients);
        }
    };
    for entry in entries {
        match client_from(entry, &clients) {
            Ok(c) => clients.push(c),
            Err(problem) => env.problems.push(format!("REKEY_OAUTH_CLIENTS: {problem}")),
        }
    }
    OAuthClients(clients)
}

/// What is wrong with one entry of `REKEY_OAUTH_CLIENTS`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ClientProblem {
    #[error("client id {0:?} is empty or has ':' or a control character")]
    BadId(String),
    #[error(
        "client {0:?} is listed twice (or is the recovery client, REKEY_OAUTH_CLIENT_ID, which is always present)"
    )]
    Twice(String),
    #[error("client {0:?}: auth_method \"none\" takes no secret_sha256")]
    PublicWithSecret(String),
    #[error("client {0:?}: its auth_method needs a secret_sha256")]
    NoSecret(String),
    #[error("client {0:?}: secret_sha256 is not 64 hex digits (a SHA-256 digest)")]
    BadDigest(String),
    #[error("client {0:?}: scopes must be a non-empty list of scope tokens")]
    BadScopes(String),
    #[error("client {0:?}: default_scope must be among its scopes")]
    DefaultOutsideScopes(String),
    #[error("client {0:?}: audience is empty")]
    NoAudience(String),
}

fn client_from(e: ClientEntry, known: &[OAuthClient]) -> Result<OAuthClient, ClientProblem> {
    let id = e.id.trim().to_string();
    if id.is_empty() || id.chars().any(|c| c.is_control() || c == ':') {
        return Err(ClientProblem::BadId(e.id));
    }
    if known.iter().any(|c| c.id == id) {
        return Err(ClientProblem::Twice(id));
    }
    let secret_sha256 = match (e.auth_method, e.secret_sha256) {
        (ClientAuthMethod::None, None) => None,
        (ClientAuthMethod::None, Some(_)) => return Err(ClientProblem::PublicWithSecret(id)),
        (_, None) => return Err(ClientProblem::NoSecret(id)),
        (_, Some(hex_digest)) => Some(
            hex::decode(hex_digest.trim())
                .ok()
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
                .ok_or_else(|| ClientProblem::BadDigest(id.clone()))?,
        ),
    };
    if e.scopes.is_empty() || !e.scopes.iter().all(|s| is_scope_token(s)) {
        return Err(ClientProblem::BadScopes(id));
    }
    let default_scope = e.default_scope.unwrap_or_else(|| e.scopes.clone());
    if !default_scope.iter().all(|s| e.scopes.contains(s)) {
        return Err(ClientProblem::DefaultOutsideScopes(id));
    }
    if e.audience.trim().is_empty() {
        return Err(ClientProblem::NoAudience(id));
    }
    Ok(OAuthClient {
        id,
        secret_sha256,
        auth_method: e.auth_method,
        scopes: e.scopes,
        default_scope,
        audience: e.audience,
        first_party: e.first_party,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &str) -> (OAuthClients, Vec<String>) {
        read_with(raw, None)
    }

    fn read_with(raw: &str, first_party: Option<&str>) -> (OAuthClients, Vec<String>) {
        let mut env = EnvReader::new(|k| match k {
            "REKEY_OAUTH_CLIENTS" => Some(raw.to_string()),
            "REKEY_OAUTH_CLIENT_FIRST_PARTY" => first_party.map(str::to_string),
            _ => None,
        });
        let session = SessionPolicy {
            issuer: None,
            audience: "rekey".into(),
            client_id: "rekey".into(),
            scope: "account".into(),
            access_ttl: std::time::Duration::from_secs(600),
            refresh_ttl: std::time::Duration::from_secs(3600),
        };
        let clients = read_clients(&mut env, &session);
        (clients, env.problems)
    }

    fn presented(id: &str, secret: Option<&str>, method: ClientAuthMethod) -> PresentedClient {
        PresentedClient {
            id: id.into(),
            secret: secret.map(|s| zeroize::Zeroizing::new(s.to_string())),
            method,
        }
    }

    #[test]
    fn the_recovery_client_is_always_there_and_public() {
        let (clients, problems) = read("[]");
        assert!(problems.is_empty());
        let c = clients.find("rekey").unwrap();
        // Public: anyone can name it, so no password grant by default.
        assert!(!c.first_party);
        assert_eq!(c.auth_method, ClientAuthMethod::None);
        assert!(c.accepts(&presented("rekey", None, ClientAuthMethod::None)));
        assert!(!c.accepts(&presented(
            "rekey",
            Some("x"),
            ClientAuthMethod::ClientSecretPost
        )));
    }

    #[test]
    fn only_the_operator_opens_the_password_grant_to_the_recovery_client() {
        let (clients, problems) = read_with("[]", Some("true"));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(clients.find("rekey").unwrap().first_party);
        let (clients, problems) = read_with("[]", Some("false"));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!clients.find("rekey").unwrap().first_party);
        let (_, problems) = read_with("[]", Some("yes"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("REKEY_OAUTH_CLIENT_FIRST_PARTY"));
    }

    #[test]
    fn a_confidential_client_is_proved_by_its_secret_and_method_only() {
        let digest = hex::encode(Sha256::digest(b"s3cret"));
        let (clients, problems) = read(&format!(
            r#"[{{"id":"api","secret_sha256":"{digest}","auth_method":"client_secret_basic",
                 "scopes":["read","write"],"default_scope":["read"],"audience":"https://api"}}]"#
        ));
        assert!(problems.is_empty(), "{problems:?}");
        let c = clients.find("api").unwrap();
        assert!(!c.first_party);
        assert_eq!(c.default_scope, ["read"]);
        let basic = ClientAuthMethod::ClientSecretBasic;
        assert!(c.accepts(&presented("api", Some("s3cret"), basic)));
        assert!(!c.accepts(&presented("api", Some("s3cret!"), basic)));
        assert!(!c.accepts(&presented("api", None, basic)));
        assert!(!c.accepts(&presented(
            "api",
            Some("s3cret"),
            ClientAuthMethod::ClientSecretPost
        )));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "{}",
            r#"[{"id":"rekey","auth_method":"none","scopes":["a"],"audience":"x"}]"#,
            r#"[{"id":"a","auth_method":"none","secret_sha256":"00","scopes":["a"],"audience":"x"}]"#,
            r#"[{"id":"a","auth_method":"client_secret_post","scopes":["a"],"audience":"x"}]"#,
            r#"[{"id":"a","auth_method":"client_secret_post","secret_sha256":"abc","scopes":["a"],"audience":"x"}]"#,
            r#"[{"id":"a","auth_method":"none","scopes":["a b"],"audience":"x"}]"#,
            r#"[{"id":"a","auth_method":"none","scopes":["a"],"default_scope":["b"],"audience":"x"}]"#,
            r#"[{"id":"a","auth_method":"none","scopes":["a"],"audience":" "}]"#,
            r#"[{"id":"a","auth_method":"magic","scopes":["a"],"audience":"x"}]"#,
            r#"[{"id":"a","auth_method":"none","scopes":["a"],"audience":"x"},{"id":"a","auth_method":"none","scopes":["a"],"audience":"x"}]"#,
        ] {
            let (_, problems) = read(bad);
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert!(
                problems[0].starts_with("REKEY_OAUTH_CLIENTS"),
                "{problems:?}"
            );
        }
    }
}
