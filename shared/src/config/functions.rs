//! What each kind of function reads at init from its [`Environment`], each
//! with one reader so that every problem is reported together: an HTTP
//! function with the reset service ([`ServiceSettings`]), send-email
//! ([`StreamSettings`]), discovery ([`DiscoverySettings`]) and reset-page
//! ([`PageSettings`]). The constructors in `wiring` read them.

use std::path::PathBuf;

use super::{
    AwsEnvironment, Config, ConfigError, ContinueUrl, EnvReader, Environment, KeyUse, SigningKeys,
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
    /// `keys`: which signing keys the function uses (none, the current one
    /// to sign, or every key of a rotation to verify).
    pub fn read(vars: &Environment, keys: KeyUse) -> Result<Self, ConfigError> {
        let mut env = vars.reader();
        let config = Config::read(&mut env);
        let store = StoreSettings::read(&mut env);
        let signing = SigningKeys::read_for(&mut env, keys);
        let aws = AwsEnvironment::read(&mut env);
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
    pub texts: TextSender,
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
        let texts = TextSender::read(&mut env);
        let webhooks = WebhookDelivery::read(&mut env);
        let store = StoreSettings::read(&mut env);
        let template_dir = read_template_dir(&env);
        let aws = AwsEnvironment::read(&mut env);
        let (config, (mail_from, store)) = env.finish_with(config.zip(mail_from.zip(store)))?;
        Ok(Self {
            config,
            mail_from,
            texts,
            webhooks,
            store,
            template_dir,
            aws,
        })
    }
}

/// How send-email's texts present themselves (SNS message attributes).
#[derive(Clone, Debug, Default)]
pub struct TextSender {
    /// `REKEY_SMS_SENDER_ID`: 1-11 letters and digits, one a letter.
    pub sender_id: Option<String>,
    /// `REKEY_SMS_ORIGINATION_NUMBER`: an E.164 number the account owns.
    pub origination_number: Option<String>,
}

impl TextSender {
    fn read(env: &mut EnvReader<'_>) -> Self {
        let sender_id = env.optional("REKEY_SMS_SENDER_ID");
        if let Some(id) = &sender_id
            && !((1..=11).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric())
                && id.bytes().any(|b| b.is_ascii_alphabetic()))
        {
            env.problems.push(
                "REKEY_SMS_SENDER_ID must be 1 to 11 letters and digits, at least one a letter"
                    .into(),
            );
        }
        let origination_number = env.optional("REKEY_SMS_ORIGINATION_NUMBER");
        if let Some(n) = &origination_number
            && crate::domain::PhoneNumber::parse(n).is_none()
        {
            env.problems.push(
                "REKEY_SMS_ORIGINATION_NUMBER must be an E.164 number the account owns, e.g. +15555550199".into(),
            );
        }
        Self {
            sender_id,
            origination_number,
        }
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
            aws: AwsEnvironment::read(&mut env),
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
