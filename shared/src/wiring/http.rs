//! The HTTP functions' constructors: the `App` each serves its routes
//! with (configuration, store, directory, and the signer or public keys of
//! the functions that sign or verify tokens), and the two that need no
//! store (discovery, reset-page).

#[cfg(feature = "dynamodb")]
use crate::App;
#[cfg(feature = "dynamodb")]
use crate::config::ServiceSettings;
use crate::config::{ConfigError, Environment};

/// The configuration, the store and the directory the configuration names
/// (`REKEY_DIRECTORY`): what every function serving through `App` builds.
#[cfg(feature = "dynamodb")]
fn app(env: &Environment) -> Result<(App, ServiceSettings), ConfigError> {
    let settings = ServiceSettings::read(env)?;
    let store = super::store(&settings.store, &settings.aws);
    let directory = crate::directory::from_environment(
        &settings.config.directory,
        store.clone(),
        &settings.aws,
    )?;
    let app = App::new(&settings.config, store).with_directory(directory);
    Ok((app, settings))
}

/// The KMS signer `REKEY_SIGNING_KEY` names (and the keys published beside
/// it), when set: its keys also verify tokens.
#[cfg(all(feature = "dynamodb", feature = "kms"))]
fn signing(env: &Environment) -> Result<App, ConfigError> {
    let (app, settings) = app(env)?;
    Ok(match &settings.signing {
        Some(keys) => app.with_signer(std::sync::Arc::new(
            crate::access_token::kms::KmsSigner::from_settings(keys, &settings.aws),
        )),
        None => app,
    })
}

/// An `App` that issues no access token.
#[cfg(feature = "dynamodb")]
fn plain(env: &Environment) -> Result<App, ConfigError> {
    Ok(app(env)?.0)
}

/// POST /api/User/authreset (Payabli).
#[cfg(feature = "dynamodb")]
pub fn request_reset(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// GET /auth/reset/validate (Unleash).
#[cfg(feature = "dynamodb")]
pub fn validate_token(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// POST /auth/reset/password (Unleash).
#[cfg(feature = "dynamodb")]
pub fn reset_password(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// POST /auth/reset/validate-password (Unleash).
#[cfg(feature = "dynamodb")]
pub fn validate_password(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// Zitadel PasswordReset (REST and Connect).
#[cfg(feature = "dynamodb")]
pub fn request_user_reset(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// Zitadel SetPassword (REST and Connect).
#[cfg(feature = "dynamodb")]
pub fn set_password(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// POST /api/v1/iam/accounts/send-reset-password-link/ (django-rest-registration).
#[cfg(feature = "dynamodb")]
pub fn send_reset_link(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// POST /api/v1/iam/accounts/reset-password/ (django-rest-registration).
#[cfg(feature = "dynamodb")]
pub fn reset_password_signed(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// POST /api/v2/account/recover/ (account recovery).
#[cfg(feature = "dynamodb")]
pub fn recover_account(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// POST /api/v2/account/reset/ (reset and log in): signs access tokens.
#[cfg(all(feature = "dynamodb", feature = "kms"))]
pub fn reset_account(env: &Environment) -> Result<App, ConfigError> {
    signing(env)
}

/// POST /oauth/token: signs access tokens.
#[cfg(all(feature = "dynamodb", feature = "kms"))]
pub fn oauth_token(env: &Environment) -> Result<App, ConfigError> {
    signing(env)
}

/// POST /oauth/revoke.
#[cfg(feature = "dynamodb")]
pub fn oauth_revoke(env: &Environment) -> Result<App, ConfigError> {
    plain(env)
}

/// GET and POST /oauth/userinfo: verifies access tokens with the KMS keys'
/// public halves, signs none.
#[cfg(all(feature = "dynamodb", feature = "kms"))]
pub fn oauth_userinfo(env: &Environment) -> Result<App, ConfigError> {
    let (app, settings) = app(env)?;
    Ok(match &settings.signing {
        Some(keys) => app.with_public_keys(std::sync::Arc::new(
            crate::access_token::kms::KmsKeys::from_settings(keys, &settings.aws),
        )),
        None => app,
    })
}

/// The discovery document and the JWKS: the issuer, the scopes and the KMS
/// keys' public halves (read from KMS on the first request and cached); no
/// store and no service secret. Without a key the JWKS answers 503.
#[cfg(feature = "kms")]
pub fn discovery(env: &Environment) -> Result<crate::contract::discovery::Discovery, ConfigError> {
    let settings = crate::config::DiscoverySettings::read(env)?;
    let keys = settings.signing.as_ref().map(|keys| {
        std::sync::Arc::new(crate::access_token::kms::KmsKeys::from_settings(
            keys,
            &settings.aws,
        )) as std::sync::Arc<dyn crate::access_token::PublicKeySet>
    });
    Ok(crate::contract::discovery::Discovery::new(
        settings.issuer,
        keys,
        &settings.scope,
    ))
}

/// The hosted reset page: only the continue link (`REKEY_CONTINUE_URL`,
/// on `REKEY_ALLOWED_LINK_ORIGINS` when that is set).
pub fn reset_page(env: &Environment) -> Result<crate::contract::page::Page, ConfigError> {
    let settings = crate::config::PageSettings::read(env)?;
    Ok(crate::contract::page::Page::new(
        settings.continue_url.as_ref(),
    ))
}
