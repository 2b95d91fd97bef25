//! The reset operations every contract is built from. Contracts parse and
//! render; this module decides.
//!
//! One file per flow, each adding its own `impl ResetService` block:
//! `guard` (API keys, limits), `intake` (address requests, accepted the
//! same way for every address and delivered later), `link` (link tokens), `session`
//! (log-in after recovery), `sign_in` (the OAuth token endpoint), `code` (Zitadel codes), `signed` (signed links),
//! and `change` (the password-change path they all end in). `mail` builds
//! the messages they queue.

use std::sync::Arc;

use crate::config::{Config, LinkTemplates};
use crate::directory::{Directory, RekeyAccounts};
use crate::domain::Scope;
use crate::password::{CredentialHasher, PolicyViolation};
use crate::signing::{AccessTokenSigner, PublicKeySet, SignerKeys};
use crate::store::{Store, StoreError};

mod change;
mod code;
mod directory;
mod disable;
mod guard;
mod intake;
mod link;
mod mail;
mod session;
mod sign_in;
mod signed;
mod userinfo;

pub use code::{ChangeDetails, CodeDelivery, PasswordProof};
pub use intake::{AddressRequest, IntakeDelivery};
pub use session::Session;
pub use sign_in::TokenRefusal;
pub use userinfo::UserInfo;

/// What can go wrong in a reset, independent of any contract's dialect.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("missing or unknown API key")]
    Unauthenticated,
    #[error("API key lacks scope {}", .0.as_str())]
    Forbidden(Scope),
    /// Unknown, malformed, expired, or voided by a password change: the
    /// client is told nothing more specific.
    #[error("invalid or expired token")]
    InvalidToken,
    #[error("token already used")]
    UsedToken,
    #[error("password does not meet the policy")]
    WeakPassword(Vec<PolicyViolation>),
    #[error("no such user")]
    UserNotFound,
    /// A link destination (a `urlTemplate`'s origin) that the user's
    /// organisation does not allow.
    #[error("the link points to an origin that is not allowed")]
    DestinationNotAllowed,
    /// No code, an expired one, one voided by a password change or by too
    /// many attempts.
    #[error("the code is expired or no longer valid; request a new one")]
    CodeExpired,
    #[error("the code is wrong")]
    CodeMismatch,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("a verification code or the current password is required")]
    VerificationRequired,
    #[error("invalid signature")]
    InvalidSignature,
    #[error("signature expired")]
    SignatureExpired,
    /// A delivery channel or feature this deployment does not have.
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    /// The OAuth token or revocation endpoint's refusals.
    #[error(transparent)]
    Token(#[from] TokenRefusal),
    /// Past a limit; try again after this many seconds.
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data; detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a flow's look-up of its user needs: the directory's errors in the
/// reset's terms.
impl ResetService {
    async fn find_user(
        &self,
        id: &crate::domain::UserId,
    ) -> Result<Option<crate::domain::User>, ResetError> {
        self.directory.user(id).await.map_err(ResetError::from)
    }
}

impl From<StoreError> for ResetError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ResetError::Unavailable(m),
            other => ResetError::Internal(other.to_string()),
        }
    }
}

/// Called after mail is queued: the local server wakes its outbox worker.
pub type MailQueuedHook = Arc<dyn Fn() + Send + Sync>;

/// The reset domain over one store. The configuration is kept whole and read
/// where a flow needs it; only the hasher is built from it once.
#[derive(Clone)]
pub struct ResetService {
    store: Arc<dyn Store>,
    /// Where accounts live and new passwords go: rekey's own table unless
    /// a Cognito pool is configured.
    directory: Arc<dyn Directory>,
    config: Arc<Config>,
    hasher: CredentialHasher,
    on_mail_queued: Option<MailQueuedHook>,
    /// Signs the access tokens a log-in answers with; functions that issue
    /// none run without one.
    signer: Option<Arc<dyn AccessTokenSigner>>,
    /// The keys access tokens verify under (userinfo): the signer's, or a
    /// key set of their own where nothing signs.
    public_keys: Option<Arc<dyn PublicKeySet>>,
}

impl ResetService {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Self {
        Self {
            directory: Arc::new(RekeyAccounts::new(store.clone())),
            store,
            hasher: CredentialHasher::with_legacy(config.hash_params, config.legacy_hashes),
            config: Arc::new(config.clone()),
            on_mail_queued: None,
            signer: None,
            public_keys: None,
        }
    }

    /// Signs access tokens with `signer` (the log-in after recovery), and
    /// verifies them with its published keys unless a key set is given.
    pub fn with_signer(mut self, signer: Arc<dyn AccessTokenSigner>) -> Self {
        if self.public_keys.is_none() {
            self.public_keys = Some(Arc::new(SignerKeys(signer.clone())));
        }
        self.signer = Some(signer);
        self
    }

    /// Looks accounts up in, and sets passwords through, `directory`.
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = directory;
        self
    }

    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// Verifies access tokens with `keys` (a function that checks tokens
    /// and signs none).
    pub fn with_public_keys(mut self, keys: Arc<dyn PublicKeySet>) -> Self {
        self.public_keys = Some(keys);
        self
    }

    /// Runs `hook` after every queued mail (the local server wakes its
    /// outbox worker with it; in AWS the table's stream does that).
    pub fn with_mail_queued_hook(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_mail_queued = Some(Arc::new(hook));
        self
    }

    /// The keys access tokens verify under, when there are any.
    pub fn public_keys(&self) -> Option<&Arc<dyn PublicKeySet>> {
        self.public_keys.as_ref()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Where links point: contracts choose the template per request.
    pub fn links(&self) -> &LinkTemplates {
        &self.config.links
    }

    /// The log-in after recovery: issuer, audience, client, lifetimes.
    pub fn session(&self) -> &crate::config::SessionPolicy {
        &self.config.session
    }

    /// The secret the CloudFront edge proves itself with, when deployed
    /// behind one (`http::client_info`).
    pub fn edge_secret(&self) -> Option<&crate::http::EdgeSecret> {
        self.config.edge_secret.as_ref()
    }

    fn mail_queued(&self) {
        if let Some(hook) = &self.on_mail_queued {
            hook();
        }
    }
}

#[cfg(all(test, feature = "embedded"))]
mod testing;
