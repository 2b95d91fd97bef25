//! The reset flows every reset contract is built from. Contracts parse and
//! render; this module decides.
//!
//! One file per flow, each adding its own `impl ResetService` block, named
//! by the credential it works with: `address_request` (the address
//! endpoints' one operation, accepted the same way for every address and
//! delivered later), `link_token` (mailed single-use tokens), `recovery`
//! (a link token redeemed into a log-in), `reset_code` (Zitadel's codes),
//! `signed_link` (django-rest-registration's signed links), and
//! `password_change` (the write they all end in; `delegated_change` when a
//! directory keeps the password). `lookup` looks accounts up, `notices`
//! builds the mail the flows queue, `disable` disables an account.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, LinkTemplates};
use crate::directory::Directory;
use crate::guard::{KeyGuard, Limiter, PasswordGuard};
use crate::password::CredentialHasher;
use crate::sign_in::Sessions;
use crate::store::{AccountStore, AuditStore, CredentialStore, IntakeStore};

mod address_request;
mod delegated_change;
mod disable;
mod link_token;
mod lookup;
mod notices;
mod password_change;
mod recovery;
mod reset_code;
mod signed_link;

pub use crate::error::ResetError;
pub use address_request::{AddressRequest, IntakeDelivery};
pub use reset_code::{ChangeDetails, CodeDelivery, PasswordProof};

/// Called after mail is queued: the local server wakes its outbox worker.
pub type MailQueuedHook = Arc<dyn Fn() + Send + Sync>;

/// The store roles the reset flows use, each an `Arc` of one role of the
/// same store.
#[derive(Clone)]
pub struct ResetStores {
    pub accounts: Arc<dyn AccountStore>,
    pub credentials: Arc<dyn CredentialStore>,
    pub intake: Arc<dyn IntakeStore>,
    pub audit: Arc<dyn AuditStore>,
}

impl ResetStores {
    /// Every role from one store.
    pub fn of(store: &Arc<dyn crate::store::Store>) -> Self {
        Self {
            accounts: store.clone(),
            credentials: store.clone(),
            intake: store.clone(),
            audit: store.clone(),
        }
    }
}

/// What the reset flows need from the rest of the crate: the components
/// they share with the other services.
#[derive(Clone)]
pub struct ResetParts {
    pub keys: KeyGuard,
    pub limiter: Limiter,
    pub passwords: PasswordGuard,
    /// The log-in after recovery signs its access token here.
    pub sessions: Sessions,
    /// Where accounts live and new passwords go: rekey's own table unless
    /// a Cognito pool is configured.
    pub directory: Arc<dyn Directory>,
    pub clock: Arc<dyn Clock>,
}

/// The reset flows over the store roles they use. The configuration is
/// kept whole and read where a flow needs it.
#[derive(Clone)]
pub struct ResetService {
    accounts: Arc<dyn AccountStore>,
    credentials: Arc<dyn CredentialStore>,
    intake: Arc<dyn IntakeStore>,
    audit: Arc<dyn AuditStore>,
    directory: Arc<dyn Directory>,
    keys: KeyGuard,
    limiter: Limiter,
    passwords: PasswordGuard,
    sessions: Sessions,
    config: Arc<Config>,
    hasher: CredentialHasher,
    on_mail_queued: Option<MailQueuedHook>,
    /// Where every flow gets the time.
    clock: Arc<dyn Clock>,
}

impl ResetService {
    pub fn new(config: &Config, stores: ResetStores, parts: ResetParts) -> Self {
        Self {
            accounts: stores.accounts,
            credentials: stores.credentials,
            intake: stores.intake,
            audit: stores.audit,
            directory: parts.directory,
            keys: parts.keys,
            limiter: parts.limiter,
            hasher: parts.passwords.hasher().clone(),
            passwords: parts.passwords,
            sessions: parts.sessions,
            config: Arc::new(config.clone()),
            on_mail_queued: None,
            clock: parts.clock,
        }
    }

    /// Runs `hook` after every queued mail (the local server wakes its
    /// outbox worker with it; in AWS the table's stream does that).
    pub fn with_mail_queued_hook(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_mail_queued = Some(Arc::new(hook));
        self
    }

    /// Where accounts are looked up and passwords set.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// Where links point: contracts choose the template per request.
    pub fn links(&self) -> &LinkTemplates {
        &self.config.links
    }

    fn mail_queued(&self) {
        if let Some(hook) = &self.on_mail_queued {
            hook();
        }
    }
}
