//! OpenID Connect Discovery and the JWKS: `GET /.well-known/openid-configuration`
//! and `GET /.well-known/jwks.json`, what a consumer (API Gateway's JWT
//! authorizer, a JOSE library) needs to verify rekey's access tokens. No
//! store call and no service secret: the issuer and the signer's public keys.
//!
//! The metadata lists the token, revocation and userinfo endpoints, the
//! grants and client authentication methods the token endpoint takes, and
//! the configured scopes. There is no authorization endpoint yet, so no
//! response types.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};

use super::Failure;
use crate::access_token::{PublicKeySet, SIGNING_KEY_VAR, SigningError, issuer_for};
use crate::reset::ResetError;
use crate::routes::Function;

pub const CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const REVOCATION_PATH: &str = "/oauth/revoke";
pub const USERINFO_PATH: &str = "/oauth/userinfo";

/// The grants `POST /oauth/token` takes.
pub const GRANT_TYPES: &[&str] = &["password", "refresh_token"];
/// How clients authenticate at the token and revocation endpoints: public
/// clients send only their id; confidential ones a secret in the
/// `Authorization: Basic` header or the form.
pub const CLIENT_AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post"];

/// How long consumers may cache either document: a next key must be
/// published at least this long (plus consumers' own JWKS caching) before
/// it signs.
pub const MAX_AGE_SECS: u64 = 300;
/// Both documents' `Cache-Control`: public, for `MAX_AGE_SECS` (a test
/// checks the two agree).
const CACHE_CONTROL: ::http::HeaderValue = ::http::HeaderValue::from_static("public, max-age=300");

/// What discovery publishes: the issuer, the scopes and the signing keys'
/// public halves.
#[derive(Clone)]
pub struct Discovery {
    issuer: Option<String>,
    keys: Option<Arc<dyn PublicKeySet>>,
    scopes: Vec<String>,
}

impl Discovery {
    /// `scopes`: the configured scope list (space-separated, as
    /// `REKEY_OAUTH_SCOPE`); empty, no `scopes_supported` is published.
    pub fn new(issuer: Option<String>, keys: Option<Arc<dyn PublicKeySet>>, scopes: &str) -> Self {
        Self {
            issuer,
            keys,
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
        }
    }

    /// Whether keys are configured to publish (without, the JWKS answers
    /// 503).
    pub fn publishes_keys(&self) -> bool {
        self.keys.is_some()
    }
}

/// Renders discovery's failures: a missing or unreachable signer is 503.
struct WellKnown;

impl super::Dialect for WellKnown {
    fn render(&self, failure: Failure) -> Response<Body> {
        let (status, error) = match failure {
            Failure::Reset(ResetError::Unavailable(_)) => (503, "temporarily_unavailable"),
            Failure::Request(_) => (404, "not_found"),
            _ => (500, "server_error"),
        };
        crate::http::json_response(status, &serde_json::json!({ "error": error }))
    }
}

fn cached(body: &serde_json::Value) -> Response<Body> {
    let mut resp = crate::http::json_response(200, body);
    resp.headers_mut()
        .insert(::http::header::CACHE_CONTROL, CACHE_CONTROL);
    resp
}

/// Serves both documents by path.
pub async fn discovery(discovery: &Discovery, req: &Request) -> Response<Body> {
    super::answer(Function::Discovery, WellKnown, async {
        let issuer = issuer_for(discovery.issuer.as_deref(), req);
        match req.uri().path() {
            CONFIGURATION_PATH => {
                let mut doc = serde_json::json!({
                    "issuer": issuer,
                    "jwks_uri": format!("{issuer}{JWKS_PATH}"),
                    "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
                    "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
                    "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
                    "grant_types_supported": GRANT_TYPES,
                    "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
                    "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
                    // No authorization endpoint yet: no response type is served.
                    "response_types_supported": [],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                });
                if !discovery.scopes.is_empty() {
                    doc["scopes_supported"] = serde_json::json!(discovery.scopes);
                }
                Ok(cached(&doc))
            }
            JWKS_PATH => {
                let key_set = discovery
                    .keys
                    .as_ref()
                    .ok_or(SigningError::NotConfigured(SIGNING_KEY_VAR))
                    .map_err(ResetError::from)?;
                let keys = key_set.published_keys().await.map_err(ResetError::from)?;
                let keys: Vec<_> = keys.iter().map(|k| k.key.jwk()).collect();
                Ok(cached(&serde_json::json!({ "keys": keys })))
            }
            _ => Err(crate::http::RequestError::invalid("path", "no such document").into()),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn cache_control_says_max_age_secs() {
        assert_eq!(
            super::CACHE_CONTROL.to_str().unwrap(),
            format!("public, max-age={}", super::MAX_AGE_SECS)
        );
    }
}
