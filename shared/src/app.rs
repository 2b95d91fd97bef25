//! The dependencies an HTTP function serves with (`wiring` builds them once
//! at init): the services, each over the store roles and ports it uses,
//! and the components they share. The one place they are put together.

use std::sync::Arc;

use crate::access_token::{AccessTokenSigner, PublicKeySet, SignerKeys};
use crate::clock::Clock;
use crate::config::{Config, SessionPolicy};
use crate::directory::{Directory, RekeyAccounts};
use crate::guard::{KeyGuard, Limiter, PasswordGuard};
use crate::http::EdgeSecret;
use crate::password::CredentialHasher;
use crate::reset::{ResetParts, ResetService, ResetStores};
use crate::resource_server::ResourceServer;
use crate::sign_in::{Sessions, SignInService};
use crate::store::Store;

#[derive(Clone)]
pub struct App {
    /// The reset flows: links, codes, signed links, recovery.
    pub reset: ResetService,
    /// The token and revocation endpoints.
    pub sign_in: SignInService,
    /// userinfo: who an access token speaks for.
    pub resource: ResourceServer,
    /// API keys and what they reach.
    pub keys: KeyGuard,
    /// The abuse limits.
    pub limits: Limiter,
    /// Comparisons with an account's password, within the limits.
    pub passwords: PasswordGuard,
    parts: Parts,
}

/// What the services are built from: the configuration, the store, the
/// ports and the clock.
#[derive(Clone)]
struct Parts {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    directory: Arc<dyn Directory>,
    signer: Option<Arc<dyn AccessTokenSigner>>,
    public_keys: Option<Arc<dyn PublicKeySet>>,
    on_mail_queued: Option<crate::reset::MailQueuedHook>,
}

impl Parts {
    /// Builds every service from the parts; `App`'s `with_*` methods
    /// rebuild with one part replaced, so every service sees the same
    /// parts.
    fn assemble(self) -> App {
        let Parts {
            config,
            store,
            clock,
            directory,
            signer,
            public_keys,
            on_mail_queued,
        } = &self;
        let keys = KeyGuard::new(store.clone(), config.default_org.clone());
        let limits = Limiter::new(
            store.clone(),
            config.keys.clone(),
            config.limits.clone(),
            clock.clone(),
        );
        let passwords = PasswordGuard::new(
            CredentialHasher::with_legacy(config.hash_params, config.legacy_hashes),
            limits.clone(),
            store.clone(),
        );
        let mut sessions = Sessions::new(config.session.clone());
        if let Some(signer) = signer {
            sessions = sessions.with_signer(signer.clone());
        }
        let reset = ResetService::new(
            config,
            ResetStores::of(store),
            ResetParts {
                keys: keys.clone(),
                limiter: limits.clone(),
                passwords: passwords.clone(),
                sessions: sessions.clone(),
                directory: directory.clone(),
                clock: clock.clone(),
            },
        );
        let reset = match on_mail_queued {
            Some(hook) => {
                let hook = hook.clone();
                reset.with_mail_queued_hook(move || hook())
            }
            None => reset,
        };
        let sign_in = SignInService::new(
            config,
            sessions,
            directory.clone(),
            passwords.clone(),
            store.clone(),
            clock.clone(),
        );
        // Tokens verify under the given key set, else the signer's keys.
        let verifying = public_keys.clone().or_else(|| {
            signer
                .clone()
                .map(|s| Arc::new(SignerKeys(s)) as Arc<dyn PublicKeySet>)
        });
        let mut resource = ResourceServer::new(config, store.clone(), clock.clone());
        if let Some(keys) = verifying {
            resource = resource.with_keys(keys);
        }
        App {
            reset,
            sign_in,
            resource,
            keys,
            limits,
            passwords,
            parts: self,
        }
    }
}

impl App {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Self {
        let directory: Arc<dyn Directory> = Arc::new(RekeyAccounts::new(store.clone()));
        Parts {
            config: Arc::new(config.clone()),
            store,
            clock: crate::clock::system(),
            directory,
            signer: None,
            public_keys: None,
            on_mail_queued: None,
        }
        .assemble()
    }

    fn rebuild(self) -> Self {
        self.parts.assemble()
    }

    /// Runs `hook` after every queued mail (see
    /// `ResetService::with_mail_queued_hook`).
    pub fn with_mail_queued_hook(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.parts.on_mail_queued = Some(Arc::new(hook));
        self.rebuild()
    }

    /// Takes the time from `clock` (tests move a `clock::ManualClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.parts.clock = clock;
        self.rebuild()
    }

    /// Looks accounts up in, and sets passwords through, `directory`.
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.parts.directory = directory;
        self.rebuild()
    }

    /// Signs access tokens with `signer`, and verifies them with its keys
    /// unless a key set is given. Without one, the log-in after recovery
    /// answers 503 and the functions that issue no tokens work.
    pub fn with_signer(mut self, signer: Arc<dyn AccessTokenSigner>) -> Self {
        self.parts.signer = Some(signer);
        self.rebuild()
    }

    /// Verifies access tokens with `keys` (a function that checks tokens
    /// and signs none).
    pub fn with_public_keys(mut self, keys: Arc<dyn PublicKeySet>) -> Self {
        self.parts.public_keys = Some(keys);
        self.rebuild()
    }

    /// The store the services were built on: for rekeyctl's operator
    /// commands and tests. Contracts never call it.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.parts.store
    }

    /// The access-token signer, when the function has one.
    pub fn signer(&self) -> Option<&Arc<dyn AccessTokenSigner>> {
        self.parts.signer.as_ref()
    }

    /// The issuer, audience and client of the tokens issued here.
    pub fn session(&self) -> &SessionPolicy {
        &self.parts.config.session
    }

    /// The secret the CloudFront edge proves itself with, when deployed
    /// behind one (`http::client_info`).
    pub fn edge_secret(&self) -> Option<&EdgeSecret> {
        self.parts.config.edge_secret.as_ref()
    }

    /// What the discovery routes publish: the configured issuer and scopes,
    /// and this app's public keys.
    pub fn discovery(&self) -> crate::contract::discovery::Discovery {
        crate::contract::discovery::Discovery::new(
            self.parts.config.session.issuer.clone(),
            self.resource.keys().cloned(),
            &self.parts.config.session.scope,
        )
    }

    /// What the hosted page is served with: the configured continue link.
    pub fn page(&self) -> crate::contract::page::Page {
        crate::contract::page::Page::new(self.parts.config.links.continue_url.as_ref())
    }
}
