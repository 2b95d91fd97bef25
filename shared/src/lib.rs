//! rekey's common crate: the reset domain, the stores, mail, and the HTTP
//! contracts. Everything but the I/O glue of each Lambda lives here.

pub mod access_token;
pub mod app;
#[cfg(feature = "aws-sdk")]
pub mod aws;
pub mod clock;
pub mod config;
pub mod contract;
pub mod crypto;
pub mod delivery;
pub mod directory;
pub mod domain;
pub mod error;
pub mod guard;
pub mod http;
#[cfg(feature = "https")]
pub mod https;
pub mod mail;
pub mod metrics;
pub mod password;
pub mod reset;
pub mod resource_server;
pub mod routes;
pub mod sealed;
#[cfg(feature = "secrets-manager")]
pub mod secrets_manager;
pub mod sign_in;
pub mod sms;
pub mod store;
pub mod telemetry;
#[cfg(test)]
#[cfg(feature = "embedded")]
pub(crate) mod testing;
pub mod url_template;
pub mod webhook;
pub mod wiring;

pub use app::App;
pub use config::{Config, ConfigError};
pub use error::ResetError;
pub use reset::ResetService;
pub use store::{Store, StoreError};
