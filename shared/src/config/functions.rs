//! What each kind of function reads at init from its [`Environment`], each
//! with one reader so that every problem is reported together: an HTTP
//! function with the reset service ([`ServiceSettings`]), send-email
//! ([`StreamSettings`]), discovery ([`DiscoverySettings`]) and reset-page
//! ([`PageSettings`]). The constructors in `wiring` read them.

use std::path::PathBuf;

use super::{
    AwsEnvironment, Config, ConfigError, ContinueUrl, EnvReader, Environment, SigningKeys,
    WebhookDelivery, session,
};

/// Where the DynamoDB store is: its table (the region and endpoint are
/// the [`AwsEnvironment`]'s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreSettings {
    pub table: String,
}

impl StoreSettings {
    pub fn read(env: &mut EnvReader<'_>) -> Option<Self> {
        env.required(
            "REKEY_TABLE",
            "the DynamoDB table name (template output TableName)",
        )
        .map(|table| Self { table })
    }

    /// rekeyctl's `--dynamodb`: the table, if set.
    pub fn from_env_if_set() -> Option<Self> {
        EnvReader::process()
            .optional("REKEY_TABLE")
            .map(|table| Self { table })
    }
}

/// What an HTTP function that builds the reset service reads: the
/// configuration, its table, its signing keys (None: it signs nothing)
/// and the AWS environment.
pub struct ServiceSettings {
    pub config: Config,
    pub store: StoreSettings,
    pub signing: Option<SigningKeys>,
    pub aws: AwsEnvironment,
}

impl ServiceSettings {
    pub fn read(vars: &Environment) -> Result<Self, ConfigError> {
        let mut env = vars.reader();
        let config = Config::read(&mut env);
        let store = StoreSettings::read(&mut env);
        let signing = SigningKeys::read(&mut env);
        let aws = AwsEnvironment::read(&env);
        let (config, store) = env.finish_with(config.zip(store))?;
        Ok(Self {
            config,
            store,
            signing,
            aws,
        })
    }
}

/// What send-email reads: the configuration of the reset service its
/// intake deliveries run through (the keys that open sealed items, the
/// product name, where accounts live), the sender of mail, the webhooks it
/// sends, its table, the template directory and the AWS environment.
pub struct StreamSettings {
    pub config: Config,
    pub mail_from: String,
    pub webhooks: WebhookDelivery,
    pub store: StoreSettings,
    pub template_dir: Option<PathBuf>,
    pub aws: AwsEnvironment,
}

impl StreamSettings {
    pub fn read(vars: &Environment) -> Result<Self, ConfigError> {
        let mut env = vars.reader();
        let config = Config::read(&mut env);
        let mail_from = read_mail_from(&mut env);
        let webhooks = WebhookDelivery::read(&mut env);
        let store = StoreSettings::read(&mut env);
        let template_dir = read_template_dir(&env);
        let aws = AwsEnvironment::read(&env);
        let (config, (mail_from, store)) = env.finish_with(config.zip(mail_from.zip(store)))?;
        Ok(Self {
            config,
            mail_from,
            webhooks,
            store,
            template_dir,
            aws,
        })
    }
}

/// `REKEY_MAIL_FROM`, required where mail is sent through SES.
pub fn read_mail_from(env: &mut EnvReader<'_>) -> Option<String> {
    env.required(
        "REKEY_MAIL_FROM",
        "the sender address, a verified SES identity, e.g. \"Acme <no-reply@acme.example>\"",
    )
}

/// `REKEY_MAIL_FROM` where a local default stands in (`rekeyctl serve`).
pub fn mail_from_or(default: &str) -> String {
    EnvReader::process()
        .optional("REKEY_MAIL_FROM")
        .unwrap_or_else(|| default.to_string())
}

/// `REKEY_TEMPLATE_DIR`: mail template overrides read at start-up.
pub fn read_template_dir(env: &EnvReader<'_>) -> Option<PathBuf> {
    env.optional("REKEY_TEMPLATE_DIR").map(PathBuf::from)
}

/// What discovery publishes: the issuer, the scopes, and the keys
/// (None: the JWKS answers 503).
pub struct DiscoverySettings {
    pub issuer: Option<String>,
    pub scope: String,
    pub signing: Option<SigningKeys>,
    pub aws: AwsEnvironment,
}

impl DiscoverySettings {
    pub fn read(vars: &Environment) -> Result<Self, ConfigError> {
        let mut env = vars.reader();
        let settings = Self {
            issuer: session::read_issuer(&env),
            scope: session::read_scope(&env),
            signing: SigningKeys::read(&mut env),
            aws: AwsEnvironment::read(&env),
        };
        env.finish()?;
        Ok(settings)
    }
}

/// What reset-page reads: the continue link, checked against the allowed
/// origins when they are listed.
pub struct PageSettings {
    pub continue_url: Option<ContinueUrl>,
}

impl PageSettings {
    pub fn read(vars: &Environment) -> Result<Self, ConfigError> {
        let mut env = vars.reader();
        let allowed = env.optional("REKEY_ALLOWED_LINK_ORIGINS");
        let continue_url = ContinueUrl::read(&mut env, allowed.as_deref());
        env.finish()?;
        Ok(Self { continue_url })
    }
}
