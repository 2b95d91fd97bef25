//! The access tokens rekey issues (the log-in after recovery and the
//! token endpoint) and what discovery publishes about them.

use std::time::Duration;

use super::EnvReader;

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

/// `REKEY_TOKEN_ISSUER`: the tokens' `iss` and discovery's `issuer`.
pub(super) fn read_issuer(env: &EnvReader<'_>) -> Option<String> {
    env.optional("REKEY_TOKEN_ISSUER")
}

/// `REKEY_OAUTH_SCOPE`: the recovery log-in's scope (space-separated), which
/// discovery publishes as `scopes_supported`.
pub(super) fn read_scope(env: &EnvReader<'_>) -> String {
    env.optional("REKEY_OAUTH_SCOPE")
        .unwrap_or_else(|| DEFAULT_OAUTH_SCOPE.into())
}

impl SessionPolicy {
    pub(super) fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            issuer: read_issuer(env),
            audience: env
                .optional("REKEY_TOKEN_AUDIENCE")
                .unwrap_or_else(|| "rekey".into()),
            client_id: env
                .optional("REKEY_OAUTH_CLIENT_ID")
                .unwrap_or_else(|| "rekey".into()),
            scope: read_scope(env),
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
        }
    }
}
