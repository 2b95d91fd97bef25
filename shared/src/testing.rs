//! The services over a fresh embedded store and a clock that moves only
//! when told, for the flows' unit tests.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::config::{Config, EnvReader};
use crate::crypto::{API_KEY_PREFIX, BearerSecret, ServiceSecret};
use crate::domain::{
    ApiKey, ClientInfo, EmailAddress, GrantPurpose, ResetGrant, Scope, UnixTime, User, UserId,
};
use crate::guard::{KeyGuard, Limiter, PasswordGuard};
use crate::password::NewPassword;
use crate::reset::ResetService;
use crate::store::Store;
use crate::store::embedded::EmbeddedStore;

pub const OLD_PASSWORD: &str = "Old-Passw0rd-kept-long";
pub const NEW_PASSWORD: &str = "Fresh-Horse-42-Battery";

pub struct Fixture {
    pub app: crate::App,
    pub service: ResetService,
    pub keys: KeyGuard,
    pub limiter: Limiter,
    pub passwords: PasswordGuard,
    /// The store the services were built on, whole: tests read and seed it.
    pub store: Arc<dyn Store>,
    pub config: Config,
    /// The service's clock: tests move it instead of shortening lifetimes.
    pub clock: ManualClock,
    _dir: tempfile::TempDir,
}

/// Generous limits (flows here repeat requests quickly) and cheap hashing,
/// overridden by `extra`.
pub async fn fixture_with(extra: &[(&str, &str)]) -> Fixture {
    let secret = ServiceSecret::generate().1;
    let vars: Vec<(String, String)> = [
        ("REKEY_SECRET", secret.as_str()),
        (
            "REKEY_RESET_URL",
            "https://app.example.com/reset?token={token}",
        ),
        ("REKEY_LIMIT_EMAIL_PER_MINUTE", "1000"),
        ("REKEY_LIMIT_EMAIL_PER_HOUR", "1000"),
        ("REKEY_LIMIT_SOURCE_PER_MINUTE", "100000"),
        ("REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR", "1000"),
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "1000"),
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "1000"),
        ("REKEY_ARGON2_MEMORY_KIB", "1024"),
        ("REKEY_ARGON2_ITERATIONS", "1"),
    ]
    .iter()
    .chain(extra.iter())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut env = EnvReader::new(move |k| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    });
    let config = Config::read(&mut env);
    env.finish().expect("test configuration is valid");
    let config = config.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("rekey.db")).unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = ManualClock::starting_now();
    let app = crate::App::new(&config, store.clone()).with_clock(Arc::new(clock.clone()));
    Fixture {
        service: app.reset.clone(),
        keys: app.keys.clone(),
        limiter: app.limits.clone(),
        passwords: crate::guard::PasswordGuard::new(
            crate::password::CredentialHasher::with_legacy(
                config.hash_params,
                config.legacy_hashes,
            ),
            app.limits.clone(),
            store.clone(),
        ),
        app,
        store,
        config,
        clock,
        _dir: dir,
    }
}

impl Fixture {
    /// The service's time now.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Sets the stored credential version of `user` back to the one it
    /// has: as if a change had not moved it, to show what else makes a
    /// credential single-use.
    pub fn rewind_credential_version(&self, user: &User) {
        let conn = rusqlite::Connection::open(self._dir.path().join("rekey.db")).unwrap();
        conn.execute(
            "UPDATE users SET credential_version = ?1 WHERE id = ?2",
            rusqlite::params![user.credential_version.0 as i64, user.id.as_str()],
        )
        .unwrap();
    }

    /// Disables `user`'s account, as `rekeyctl user disable` does.
    pub async fn disable(&self, user: &User) {
        self.store.set_user_disabled(&user.id, true).await.unwrap();
    }

    /// A named user with `OLD_PASSWORD`.
    pub async fn add_user(&self, email: &str) -> User {
        let mut user = User::new(
            UserId::generate(),
            EmailAddress::parse(email).unwrap(),
            self.now(),
        );
        user.name = Some("Ada Lovelace".into());
        user.password_hash = Some(
            self.passwords
                .hasher()
                .hash(&NewPassword::normalize(OLD_PASSWORD))
                .unwrap(),
        );
        self.store.insert_user(&user).await.unwrap();
        user
    }

    /// The user as stored now.
    pub async fn reload(&self, user: &User) -> User {
        self.store.user(&user.id).await.unwrap().unwrap()
    }

    /// A grant for `user` stored with its mail as a reset link's delivery
    /// stores one, valid for `ttl`; the token is returned instead of mailed.
    pub async fn add_grant(&self, user: &User, ttl: Duration) -> (BearerSecret, ResetGrant) {
        self.add_grant_for(user, ttl, GrantPurpose::ResetLink).await
    }

    /// `add_grant` for `purpose`.
    pub async fn add_grant_for(
        &self,
        user: &User,
        ttl: Duration,
        purpose: GrantPurpose,
    ) -> (BearerSecret, ResetGrant) {
        let (token, grant) = ResetGrant::issue(
            user.id.clone(),
            user.credential_version,
            self.now(),
            ttl,
            purpose,
            self.config.links.default.origin(),
        );
        let mail = self.service.reset_mail(
            user,
            "x".into(),
            None,
            grant.expires_at,
            &ClientInfo::default(),
        );
        self.store.insert_grant(&grant, &mail).await.unwrap();
        (token, grant)
    }

    pub async fn add_key(&self, scopes: &[Scope]) -> String {
        let secret = BearerSecret::generate(API_KEY_PREFIX);
        self.store
            .insert_api_key(&ApiKey {
                digest: secret.digest(),
                name: "test".into(),
                scopes: scopes.to_vec(),
                created_at: self.now(),
                revoked: false,
                org: Default::default(),
            })
            .await
            .unwrap();
        secret.expose().to_string()
    }
}
