//! One constructor per function: what `functions/<name>/src/main.rs`
//! builds once at init, from the variables its [`Environment`] holds (the
//! process environment in a Lambda; in tests, the environment template.yaml
//! gives that function). The mains call nothing else at init, and
//! shared/tests/integration/wiring.rs calls the same constructors, so what
//! a test checks is what ships. Each constructor is named as its function
//! is in `routes::declaration` (in snake case), and
//! `template::each_function_main_calls_the_operation_its_declaration_names`
//! checks that each main.rs calls its own.
//!
//! What a function reads is typed in `config` (`ServiceSettings`,
//! `StreamSettings`, `DiscoverySettings`, `PageSettings`); here the
//! settings become clients and services. Each constructor is compiled only
//! with the features its function is built with (functions/<name>/Cargo.toml),
//! so a function asking for a dependency its build does not link fails to
//! compile.

mod http;
#[cfg(all(feature = "dynamodb", feature = "ses", feature = "sns"))]
mod send_email;

pub use crate::config::Environment;
pub use http::*;
#[cfg(all(feature = "dynamodb", feature = "ses", feature = "sns"))]
pub use send_email::{SendEmail, send_email};

/// The process environment, with the secrets it names by ARN read from
/// Secrets Manager (`secrets_manager::resolve`): what the mains of the
/// functions that hold a secret build from. Without a reference (a local
/// run), the environment as it is.
#[cfg(feature = "secrets-manager")]
pub async fn environment() -> Result<Environment, crate::ConfigError> {
    crate::secrets_manager::resolve(Environment::process()).await
}

/// rekey's DynamoDB store on the configured table.
#[cfg(feature = "dynamodb")]
fn store(
    settings: &crate::config::StoreSettings,
    aws: &crate::config::AwsEnvironment,
) -> std::sync::Arc<dyn crate::Store> {
    std::sync::Arc::new(crate::store::dynamo::DynamoStore::from_settings(
        settings, aws,
    ))
}
