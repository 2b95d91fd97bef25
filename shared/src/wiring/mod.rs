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
#[cfg(all(feature = "dynamodb", feature = "ses"))]
mod send_email;

pub use crate::config::Environment;
pub use http::*;
#[cfg(all(feature = "dynamodb", feature = "ses"))]
pub use send_email::{SendEmail, send_email};

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
