//! The HTTP functions' constructors: the `App` each serves its routes
//! with (configuration, store, directory, and the signer or public keys of
//! the functions that sign or verify tokens), and the two that need no
//! store (discovery, reset-page).

#[cfg(feature = "dynamodb")]
use super::{Environment, config, store, table};
#[cfg(feature = "dynamodb")]
use crate::App;
use crate::config::ConfigError;

/// The configuration, the store and the directory the configuration names
/// (`REKEY_DIRECTORY`): what every function serving through `App` builds.
#[cfg(feature = "dynamodb")]
fn app(env: &Environment) -> Result<App, ConfigError> {
    let (config, table) = config(env, table)?;
    let store = store(env, table.expect("reported when missing"));
    let directory =
        crate::directory::from_environment(&config.directory, store.clone(), &|n| env.get(n))?;
    Ok(App::new(&config, store).with_directory(directory))
}

/// The KMS signer of the key `REKEY_SIGNING_KEY` names, when set; it
/// reads no other key (discovery and oauth-userinfo publish and verify
/// with the next and previous keys of a rotation).
#[cfg(feature = "kms")]
fn with_signer(app: App, env: &Environment) -> App {
    match crate::signing::kms::KmsSigner::from_vars(|n| env.get(n)) {
        Some(signer) => app.with_signer(std::sync::Arc::new(signer)),
        None => app,
    }
}

/// The public halves of the KMS keys `REKEY_SIGNING_KEY`, `_NEXT` and
/// `_PREVIOUS` name, read without the AWS SDK; None when none is set.
#[cfg(feature = "kms-keys")]
fn kms_public_keys(
    env: &super::Environment,
) -> Option<Result<crate::signing::kms_keys::KmsPublicKeys, crate::signing::SigningError>> {
    crate::signing::kms_keys::KmsPublicKeys::from_vars(|n| env.get(n))
}

/// POST /api/User/authreset (Payabli).
#[cfg(feature = "dynamodb")]
pub fn request_reset(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// GET /auth/reset/validate (Unleash).
#[cfg(feature = "dynamodb")]
pub fn validate_token(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// POST /auth/reset/password (Unleash).
#[cfg(feature = "dynamodb")]
pub fn reset_password(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// POST /auth/reset/validate-password (Unleash).
#[cfg(feature = "dynamodb")]
pub fn validate_password(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// Zitadel PasswordReset (REST and Connect).
#[cfg(feature = "dynamodb")]
pub fn request_user_reset(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// Zitadel SetPassword (REST and Connect).
#[cfg(feature = "dynamodb")]
pub fn set_password(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// POST /api/v1/iam/accounts/send-reset-password-link/ (django-rest-registration).
#[cfg(feature = "dynamodb")]
pub fn send_reset_link(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// POST /api/v1/iam/accounts/reset-password/ (django-rest-registration).
#[cfg(feature = "dynamodb")]
pub fn reset_password_signed(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// POST /api/v2/account/recover/ (account recovery).
#[cfg(feature = "dynamodb")]
pub fn recover_account(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// POST /api/v2/account/reset/ (reset and log in): signs access tokens.
#[cfg(all(feature = "dynamodb", feature = "kms"))]
pub fn reset_account(env: &Environment) -> Result<App, ConfigError> {
    Ok(with_signer(app(env)?, env))
}

/// POST /oauth/token: signs access tokens.
#[cfg(all(feature = "dynamodb", feature = "kms"))]
pub fn oauth_token(env: &Environment) -> Result<App, ConfigError> {
    Ok(with_signer(app(env)?, env))
}

/// POST /oauth/revoke.
#[cfg(feature = "dynamodb")]
pub fn oauth_revoke(env: &Environment) -> Result<App, ConfigError> {
    app(env)
}

/// GET and POST /oauth/userinfo: verifies access tokens with the KMS keys'
/// public halves, signs none.
#[cfg(all(feature = "dynamodb", feature = "kms-keys"))]
pub fn oauth_userinfo(env: &Environment) -> Result<App, ConfigError> {
    let app = app(env)?;
    Ok(match kms_public_keys(env) {
        Some(keys) => app.with_public_keys(std::sync::Arc::new(keys.map_err(|e| ConfigError {
            problems: vec![e.to_string()],
        })?)),
        None => app,
    })
}

/// The discovery document and the JWKS: the issuer, the scopes and the KMS
/// keys' public halves; no store and no service secret. A KMS endpoint
/// that does not parse is logged and the JWKS answers 503 until it is
/// fixed.
#[cfg(feature = "kms-keys")]
pub fn discovery(
    env: &super::Environment,
) -> Result<crate::contract::discovery::Discovery, ConfigError> {
    let vars = env.reader();
    let issuer = vars.optional("REKEY_TOKEN_ISSUER");
    let scopes = vars
        .optional("REKEY_OAUTH_SCOPE")
        .unwrap_or_else(|| crate::config::DEFAULT_OAUTH_SCOPE.into());
    vars.finish()?;
    let keys = match kms_public_keys(env) {
        Some(Ok(keys)) => {
            Some(std::sync::Arc::new(keys) as std::sync::Arc<dyn crate::signing::PublicKeySet>)
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "configuration error: the KMS endpoint");
            None
        }
        None => None,
    };
    Ok(crate::contract::discovery::Discovery::new(
        issuer, keys, &scopes,
    ))
}

/// The hosted reset page: only the continue link (`REKEY_CONTINUE_URL`,
/// on `REKEY_ALLOWED_LINK_ORIGINS` when that is set).
pub fn reset_page(env: &super::Environment) -> Result<crate::contract::page::Page, ConfigError> {
    let mut vars = env.reader();
    let continue_url = crate::contract::page::ContinueUrl::read(&mut vars);
    vars.finish()?;
    Ok(crate::contract::page::Page::new(continue_url.as_ref()))
}
