//! The dependencies an HTTP function builds once at init.

use std::sync::Arc;

use crate::config::Config;
use crate::reset::ResetService;
use crate::signing::AccessTokenSigner;
use crate::store::Store;

#[derive(Clone)]
pub struct App {
    pub reset: ResetService,
}

impl App {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Self {
        Self {
            reset: ResetService::new(config, store, crate::clock::system()),
        }
    }

    /// Runs `hook` after every queued mail (see
    /// `ResetService::with_mail_queued_hook`).
    pub fn with_mail_queued_hook(self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            reset: self.reset.with_mail_queued_hook(hook),
        }
    }

    /// Takes the time from `clock` (tests move a `clock::ManualClock`).
    pub fn with_clock(self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        Self {
            reset: self.reset.with_clock(clock),
        }
    }

    /// Looks accounts up in `directory` (see `ResetService::with_directory`).
    pub fn with_directory(self, directory: Arc<dyn crate::directory::Directory>) -> Self {
        Self {
            reset: self.reset.with_directory(directory),
        }
    }

    /// Signs access tokens with `signer`. Without one, the log-in after
    /// recovery answers 503 and the functions that issue no tokens work.
    pub fn with_signer(self, signer: Arc<dyn AccessTokenSigner>) -> Self {
        Self {
            reset: self.reset.with_signer(signer),
        }
    }

    /// Verifies access tokens with `keys` (oauth-userinfo: the KMS keys'
    /// public halves, no signer).
    pub fn with_public_keys(self, keys: Arc<dyn crate::signing::PublicKeySet>) -> Self {
        Self {
            reset: self.reset.with_public_keys(keys),
        }
    }

    /// What the discovery routes publish: the configured issuer and scopes,
    /// and this app's public keys.
    pub fn discovery(&self) -> crate::contract::discovery::Discovery {
        crate::contract::discovery::Discovery::new(
            self.reset.session().issuer.clone(),
            self.reset.public_keys().cloned(),
            &self.reset.session().scope,
        )
    }

    /// Configuration and the DynamoDB store from the environment: what every
    /// HTTP Lambda does at init, and the KMS signer (feature `kms`), whose
    /// keys also verify tokens, when `REKEY_SIGNING_KEY` is set. Builds
    /// clients only; no network.
    #[cfg(feature = "dynamodb")]
    pub async fn from_env() -> Result<Self, crate::ConfigError> {
        let settings = crate::config::ServiceSettings::from_env()?;
        let store: Arc<dyn Store> = Arc::new(crate::store::dynamo::DynamoStore::from_settings(
            &settings.store,
            &settings.aws,
        ));
        let directory = crate::directory::from_environment(
            &settings.config.directory,
            store.clone(),
            &settings.aws,
        )?;
        let app = Self::new(&settings.config, store).with_directory(directory);
        #[cfg(feature = "kms")]
        if let Some(keys) = &settings.signing {
            let signer = crate::signing::kms::KmsSigner::from_settings(keys, &settings.aws);
            return Ok(app.with_signer(Arc::new(signer)));
        }
        Ok(app)
    }
}
