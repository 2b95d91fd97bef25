//! The dependencies an HTTP function builds once at init.

use std::sync::Arc;

use crate::config::Config;
use crate::reset::ResetService;
use crate::store::Store;

#[derive(Clone)]
pub struct App {
    pub reset: ResetService,
}

impl App {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Self {
        Self {
            reset: ResetService::new(config, store),
        }
    }

    /// Runs `hook` after every queued mail (see
    /// `ResetService::with_mail_queued_hook`).
    pub fn with_mail_queued_hook(self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            reset: self.reset.with_mail_queued_hook(hook),
        }
    }

    /// Configuration and the DynamoDB store from the environment: what every
    /// HTTP Lambda does at init. Builds clients only; no network.
    #[cfg(feature = "dynamodb")]
    pub async fn from_env() -> Result<Self, crate::ConfigError> {
        let config = Config::from_env()?;
        let store = crate::store::dynamo::DynamoStore::from_env().await?;
        Ok(Self::new(&config, Arc::new(store)))
    }
}
