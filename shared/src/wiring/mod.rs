//! One constructor per function: what `functions/<name>/src/main.rs`
//! builds once at init, from the variables its `Environment` holds (the
//! process environment in a Lambda; in tests, the environment template.yaml
//! gives that function). The mains call nothing else at init, and
//! shared/tests/integration/wiring.rs calls the same constructors, so what
//! a test checks is what ships.
//!
//! Each constructor is compiled only with the features its function is
//! built with (functions/<name>/Cargo.toml), so a function asking for a
//! dependency its build does not link fails to compile.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::config::EnvReader;
#[cfg(feature = "dynamodb")]
use crate::config::{Config, ConfigError};

mod http;
#[cfg(all(feature = "dynamodb", feature = "ses", feature = "sns"))]
mod send_email;

pub use http::*;
#[cfg(all(feature = "dynamodb", feature = "ses", feature = "sns"))]
pub use send_email::{SendEmail, send_email};

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The variables a function's init reads, and which names it read.
pub struct Environment {
    lookup: Lookup,
    read: Mutex<BTreeSet<String>>,
}

impl Environment {
    /// The process environment, an empty value counting as unset (as
    /// template.yaml's `!Ref AWS::NoValue` arrives under `sam local`).
    pub fn process() -> Self {
        Self::new(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn new(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
            read: Mutex::default(),
        }
    }

    /// The variables in `pairs` (empty values unset), and nothing else.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars: std::collections::BTreeMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Self::new(move |name| vars.get(name).cloned())
    }

    /// One variable, recorded as read.
    pub fn get(&self, name: &str) -> Option<String> {
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string());
        (self.lookup)(name)
    }

    /// A reader over these variables (with `REKEY_SETTINGS`' settings).
    pub fn reader(&self) -> EnvReader<'_> {
        EnvReader::new(move |name| self.get(name))
    }

    /// Every name read so far.
    pub fn names_read(&self) -> BTreeSet<String> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The configuration every function that serves through `App` reads, with
/// the problems of `extra` (what that function reads besides) reported
/// together.
#[cfg(feature = "dynamodb")]
fn config<T>(
    env: &Environment,
    extra: impl FnOnce(&mut EnvReader<'_>) -> T,
) -> Result<(Config, T), ConfigError> {
    let mut vars = env.reader();
    let config = Config::read(&mut vars);
    let extra = extra(&mut vars);
    vars.finish()?;
    Ok((config.expect("every problem was reported"), extra))
}

/// The AWS SDK configuration for `service` from `env` (region,
/// credentials, endpoint), as `aws::environment_sdk_config` reads the
/// process environment.
#[cfg(any(
    feature = "dynamodb",
    feature = "ses",
    feature = "sns",
    feature = "kms",
    feature = "sqs",
    feature = "cognito"
))]
fn sdk(env: &Environment, service: &str) -> aws_config::SdkConfig {
    crate::aws::sdk_config_from_vars(service, |name| env.get(name))
}

/// rekey's DynamoDB store on `REKEY_TABLE`.
#[cfg(feature = "dynamodb")]
fn store(env: &Environment, table: String) -> std::sync::Arc<dyn crate::Store> {
    std::sync::Arc::new(crate::store::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk(env, "DYNAMODB")),
        table,
    ))
}

#[cfg(feature = "dynamodb")]
fn table(vars: &mut EnvReader<'_>) -> Option<String> {
    vars.required(
        "REKEY_TABLE",
        "the DynamoDB table name (template output TableName)",
    )
}
