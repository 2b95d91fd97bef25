//! rekey in front of a Cognito user pool (moto's cognito-idp): every
//! contract sets the pool user's password, signs the user's pool sessions
//! out and voids the user's other credentials; addresses without exactly
//! one enabled, confirmed pool user get no mail; the pool's own policy,
//! throttling and outages map to each dialect; the account-recovery
//! log-in answers the pool's tokens.

use std::sync::Arc;

use crate::support::cognito::{PoolUser, TestPool};
use crate::support::*;
use rekey::App;
use rekey::ResetError;
use rekey::directory::Directory;
use rekey::directory::cognito::CognitoPool;
use rekey::domain::{ClientInfo, Scope};
use rekey::reset::{AddressRequest, CodeDelivery, PasswordProof};
use rekey::routes::Function;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");

/// An app over a pool (on `shared_config`, whose keys open its mail).
struct PoolApp {
    app: App,
}

impl std::ops::Deref for PoolApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

fn shared_config() -> rekey::Config {
    static CONFIG: std::sync::OnceLock<rekey::Config> = std::sync::OnceLock::new();
    CONFIG.get_or_init(config).clone()
}

async fn pool_app(store: Arc<dyn rekey::Store>, pool: &TestPool, with_client: bool) -> PoolApp {
    let config = shared_config();
    PoolApp {
        app: App::new(&config, store.clone())
            .with_signer(signer())
            .with_directory(pool.directory(store, with_client).await),
    }
}

/// The token of the newest reset or recovery link queued (other mail,
/// signed links among it, is taken and dropped).
async fn latest_token(app: &App) -> String {
    take_links(app.store(), &shared_config())
        .await
        .iter()
        .filter_map(|link| {
            url::Url::parse(link)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "token" || k == "validation_code")
                .map(|(_, v)| v.into_owned())
        })
        .next_back()
        .expect("a reset mail with a token")
}

async fn link_for(app: &App, user: &PoolUser, request: AddressRequest) -> String {
    deliver_now(&app.reset, request, &user.email, &ClientInfo::default()).await;
    latest_token(app).await
}

#[derive(Clone, Copy, Debug)]
enum Via {
    /// Payabli's request, then the link redeemed at Unleash's route.
    PayabliUnleash,
    Zitadel,
    Django,
    Account,
}

async fn post_json(
    app: &App,
    function: Function,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let resp = post_to(app, function, headers, &body).await;
    (resp.status().as_u16(), response_json(&resp))
}

async fn reset_via(app: &App, via: Via, user: &PoolUser) {
    let client = ClientInfo::default();
    match via {
        Via::PayabliUnleash => {
            let key = add_key(&**app.store(), &[Scope::ResetRequest]).await;
            let (status, _) = post_json(
                app,
                Function::RequestReset,
                &[JSON, ("requestToken", key.as_str())],
                json!({"email": user.email.as_str()}),
            )
            .await;
            assert_eq!(status, 200);
            app.reset.drain_intake(500).await.unwrap();
            let token = latest_token(app).await;
            let (status, body) = post_json(
                app,
                Function::ResetPassword,
                &[JSON],
                json!({"token": token, "password": NEW_PASSWORD}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
        Via::Zitadel => {
            let raw = add_key(&**app.store(), &[Scope::UsersAdmin, Scope::UsersWrite]).await;
            let key = app
                .keys
                .authorize(Some(&raw), Scope::UsersWrite)
                .await
                .unwrap();
            // Zitadel's routes name the user by the pool's username.
            let by_name = rekey::domain::UserId::parse(&user.username).unwrap();
            let (_, code) = app
                .reset
                .issue_code(&by_name, CodeDelivery::ReturnCode, &key, &client)
                .await
                .unwrap();
            app.reset
                .set_password_with_proof(
                    &by_name,
                    NEW_PASSWORD,
                    PasswordProof::Code(code.unwrap()),
                    &key,
                    &client,
                )
                .await
                .unwrap();
        }
        Via::Django => {
            let account = app
                .reset
                .directory()
                .user(&user.sub)
                .await
                .unwrap()
                .unwrap();
            let ts = now();
            let sig = app
                .reset
                .issue_signed_link(&account, ts, &client)
                .await
                .unwrap();
            app.reset
                .reset_with_signature(user.sub.as_str(), ts, &sig, NEW_PASSWORD, &client)
                .await
                .unwrap();
        }
        Via::Account => {
            let token = link_for(app, user, AddressRequest::Recovery).await;
            let (status, body) = post_json(
                app,
                Function::ResetAccount,
                &[JSON],
                json!({"validation_code": token, "password": NEW_PASSWORD}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// Each contract sets the pool password (the new one signs in, the old one
/// no longer), ends the pool sessions (the old refresh token is refused)
/// and voids the user's other outstanding credentials.
async fn every_contract_sets_the_pool_password(store: Arc<dyn rekey::Store>) {
    let pool = TestPool::new(None).await;
    let app = pool_app(store, &pool, true).await;
    for via in [Via::PayabliUnleash, Via::Zitadel, Via::Django, Via::Account] {
        let user = pool.add_user(&unique_email()).await;
        let session = pool
            .sign_in(&user, &pool.password)
            .await
            .expect("signed in");
        assert!(pool.refresh_works(&session).await);
        // Outstanding: a link and a signed link issued before the change.
        let outstanding = link_for(&app, &user, AddressRequest::ResetLink { entry: None }).await;
        let before = app
            .reset
            .directory()
            .user(&user.sub)
            .await
            .unwrap()
            .unwrap();
        let ts = now();
        let signed = app
            .reset
            .issue_signed_link(&before, ts, &ClientInfo::default())
            .await
            .unwrap();
        take_links(app.store(), &shared_config()).await;

        reset_via(&app, via, &user).await;

        assert!(
            pool.sign_in(&user, NEW_PASSWORD).await.is_some(),
            "{via:?}: new password"
        );
        assert!(
            pool.sign_in(&user, &pool.password).await.is_none(),
            "{via:?}: old password"
        );
        assert!(!pool.refresh_works(&session).await, "{via:?}: signed out");
        let after = app
            .reset
            .directory()
            .user(&user.sub)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            after.credential_version,
            before.credential_version.next(),
            "{via:?}"
        );
        assert!(
            matches!(
                app.reset.inspect_token(&outstanding).await,
                Err(ResetError::InvalidToken)
            ),
            "{via:?}: the outstanding link is void"
        );
        assert!(
            matches!(
                app.reset
                    .inspect_signed_link(user.sub.as_str(), ts, &signed)
                    .await,
                Err(ResetError::InvalidSignature)
            ),
            "{via:?}: the signed link is void"
        );
        let record = app.store().user(&user.sub).await.unwrap().unwrap();
        assert!(
            record.email.as_str().ends_with("@cognito.invalid"),
            "the record never holds the pool's address"
        );
        assert!(
            record
                .password_hash
                .as_deref()
                .is_none_or(|h| !h.starts_with('$')),
            "no hash of a pool password is kept"
        );
    }
}
crate::on_both_stores!(
    every_contract_sets_the_pool_password_,
    every_contract_sets_the_pool_password
);

/// Unknown, shared, disabled and unconfirmed addresses: the same 200, no
/// mail, no grant.
async fn only_one_active_pool_user_gets_mail(store: Arc<dyn rekey::Store>) {
    let pool = TestPool::new(None).await;
    let app = pool_app(store, &pool, true).await;
    let shared = unique_email();
    pool.add_user(&shared).await;
    pool.add_user(&shared).await;
    let disabled = pool.add_user(&unique_email()).await;
    pool.disable(&disabled).await;
    let unconfirmed = pool.add_unconfirmed(&unique_email()).await;
    let known = pool.add_user(&unique_email()).await;
    let unknown = unique_email();
    let key = add_key(&**app.store(), &[Scope::ResetRequest]).await;
    for (address, mails) in [
        (unknown.as_str(), 0),
        (shared.as_str(), 0),
        (disabled.email.as_str(), 0),
        (unconfirmed.email.as_str(), 0),
        (known.email.as_str(), 1),
    ] {
        let answer = post_json(
            &app,
            Function::RequestReset,
            &[JSON, ("requestToken", key.as_str())],
            json!({"email": address}),
        )
        .await;
        assert_eq!(answer.0, 200, "{address}");
        app.reset.drain_intake(500).await.unwrap();
        assert_eq!(
            take_links(app.store(), &shared_config()).await.len(),
            mails,
            "{address}"
        );
    }
    // A user disabled in the pool is disabled in rekey too, for good: its
    // credential version moved, so re-enabling revives nothing.
    let seen = app
        .reset
        .directory()
        .user(&disabled.sub)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.disabled);
}
crate::on_both_stores!(
    only_one_active_pool_user_gets_mail_,
    only_one_active_pool_user_gets_mail
);

/// A user who sets their own email to someone else's address (left
/// unverified) does not make it shared: only verified addresses count, so
/// the owner still gets their reset mail, and the claimant none.
#[tokio::test]
async fn an_unverified_claim_on_an_address_does_not_silence_its_owner() {
    let s = TestStore::new(StoreKind::Dynamo).await;
    let pool = TestPool::new(None).await;
    let app = pool_app(s.store.clone(), &pool, true).await;
    let victim = pool.add_user(&unique_email()).await;
    let claimant = pool.add_user(&unique_email()).await;
    pool.claim_email_unverified(&claimant, victim.email.as_str())
        .await;
    let key = add_key(&**app.store(), &[Scope::ResetRequest]).await;
    let answer = post_json(
        &app,
        Function::RequestReset,
        &[JSON, ("requestToken", key.as_str())],
        json!({"email": victim.email.as_str()}),
    )
    .await;
    assert_eq!(answer.0, 200);
    app.reset.drain_intake(500).await.unwrap();
    let links = take_links(app.store(), &shared_config()).await;
    assert_eq!(links.len(), 1, "the owner gets the mail");
    let seen = app
        .reset
        .directory()
        .user_by_email(&victim.email)
        .await
        .unwrap()
        .expect("the verified owner");
    assert_eq!(seen.id, victim.sub);
}

/// A pool policy stricter than rekey's: Unleash's policy error naming the
/// rule, and the link still works with a password the pool takes.
#[tokio::test]
async fn the_pools_policy_is_the_dialects_policy_error() {
    let s = TestStore::new(StoreKind::Dynamo).await;
    let pool = TestPool::new(Some(40)).await;
    let app = pool_app(s.store.clone(), &pool, true).await;
    let user = pool.add_user(&unique_email()).await;
    let token = link_for(&app, &user, AddressRequest::ResetLink { entry: None }).await;
    let (status, body) = post_json(
        &app,
        Function::ResetPassword,
        &[JSON],
        json!({"token": token, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["name"], "PasswordPolicyError", "{body}");
    assert_eq!(body["details"][0]["rule"], "directory_policy", "{body}");
    assert!(
        app.reset.inspect_token(&token).await.is_ok(),
        "the link is unspent"
    );
    // The account-recovery and django dialects' policy errors, too.
    let recovery = link_for(&app, &user, AddressRequest::Recovery).await;
    let (status, body) = post_json(
        &app,
        Function::ResetAccount,
        &[JSON],
        json!({"validation_code": recovery, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("directory_policy"),
        "{body}"
    );
    let account = app
        .reset
        .directory()
        .user(&user.sub)
        .await
        .unwrap()
        .unwrap();
    let ts = now();
    let sig = app
        .reset
        .issue_signed_link(&account, ts, &ClientInfo::default())
        .await
        .unwrap();
    let (status, body) = post_json(
        &app,
        Function::ResetPasswordSigned,
        &[JSON],
        json!({"user_id": user.sub.as_str(), "timestamp": ts, "signature": sig, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["password"][0].as_str().unwrap().contains("user pool"),
        "{body}"
    );
    let long = "Forty-Characters-Long-Passphrase-Horse-77";
    app.reset
        .reset_with_token(&token, long, &ClientInfo::default())
        .await
        .unwrap();
    assert!(pool.sign_in(&user, long).await.is_some());
}

/// The pool unreachable: 503 in each dialect, and the link works once the
/// pool is back.
#[tokio::test]
async fn an_unreachable_pool_is_503_and_the_link_survives() {
    let s = TestStore::new(StoreKind::Dynamo).await;
    let pool = TestPool::new(None).await;
    let app = pool_app(s.store.clone(), &pool, true).await;
    let user = pool.add_user(&unique_email()).await;
    let token = link_for(&app, &user, AddressRequest::ResetLink { entry: None }).await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sdk = aws_config()
        .await
        .into_builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    let down = App::new(&shared_config(), s.store.clone()).with_directory(Arc::new(
        CognitoPool::from_sdk_config(
            &sdk,
            pool.pool_id.clone(),
            Some(pool.client_id.clone()),
            s.store.clone(),
        ),
    ));
    let (status, body) = post_json(
        &down,
        Function::ResetPassword,
        &[JSON],
        json!({"token": token, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["name"].as_str()),
        (503, Some("ServiceUnavailableError")),
        "{body}"
    );
    let (status, body) = post_json(
        &down,
        Function::ResetAccount,
        &[JSON],
        json!({"validation_code": token, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );

    app.reset
        .reset_with_token(&token, NEW_PASSWORD, &ClientInfo::default())
        .await
        .expect("the link still works");
    assert!(pool.sign_in(&user, NEW_PASSWORD).await.is_some());
}

/// Of concurrent resets with one link exactly one sets a password.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_with_one_link_set_one_password() {
    let s = TestStore::new(StoreKind::Dynamo).await;
    let pool = TestPool::new(None).await;
    let app = Arc::new(pool_app(s.store.clone(), &pool, true).await);
    let user = pool.add_user(&unique_email()).await;
    let token = link_for(&app, &user, AddressRequest::ResetLink { entry: None }).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                let password = format!("Racing-Horse-{i}-Battery");
                let result = app
                    .reset
                    .reset_with_token(&token, &password, &ClientInfo::default())
                    .await;
                (password, result.is_ok())
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (password, won) = t.await.unwrap();
        if won {
            winners.push(password);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert!(
        pool.sign_in(&user, &winners[0]).await.is_some(),
        "the winner's password stands"
    );
}

/// The account-recovery log-in answers the pool's own tokens; without an
/// app client only that route is unavailable, and its link stays unspent.
#[tokio::test]
async fn the_recovery_log_in_answers_the_pools_tokens() {
    let s = TestStore::new(StoreKind::Dynamo).await;
    let pool = TestPool::new(None).await;
    let user = pool.add_user(&unique_email()).await;

    let without = pool_app(s.store.clone(), &pool, false).await;
    let token = link_for(&without, &user, AddressRequest::Recovery).await;
    let (status, body) = post_json(
        &without,
        Function::ResetAccount,
        &[JSON],
        json!({"validation_code": token, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "{body}"
    );
    assert!(
        without.reset.inspect_token(&token).await.is_ok(),
        "the link is unspent"
    );
    // Every other route works without the client.
    let reset_token = link_for(&without, &user, AddressRequest::ResetLink { entry: None }).await;
    let (status, _) = post_json(
        &without,
        Function::ResetPassword,
        &[JSON],
        json!({"token": reset_token, "password": "Interim-Passw0rd-Horse"}),
    )
    .await;
    assert_eq!(status, 200);

    let with = pool_app(s.store.clone(), &pool, true).await;
    let token = link_for(&with, &user, AddressRequest::Recovery).await;
    let (status, body) = post_json(
        &with,
        Function::ResetAccount,
        &[JSON],
        json!({"validation_code": token, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let t = &body["token"];
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["client_id"], pool.client_id.as_str());
    assert!(t["expires_in"].as_u64().unwrap() > 0);
    let payload = t["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert!(
        claims["iss"].as_str().unwrap().ends_with(&pool.pool_id),
        "{claims}"
    );
    assert_eq!(claims["sub"], user.sub.as_str());
    assert!(
        pool.refresh_works(t["refresh_token"].as_str().unwrap())
            .await
    );
}

/// A sign-out that failed after the password was set rides on the notice:
/// delivering it signs the user out before the mail goes.
#[tokio::test]
async fn a_failed_sign_out_is_retried_from_the_outbox() {
    let s = TestStore::new(StoreKind::Embedded).await;
    let pool = TestPool::new(None).await;
    let user = pool.add_user(&unique_email()).await;
    let session = pool.sign_in(&user, &pool.password).await.unwrap();
    let flaky = Arc::new(NoSignOut(pool.directory(s.store.clone(), true).await));
    let app = App::new(&shared_config(), s.store.clone()).with_directory(flaky);
    let token = link_for(&app, &user, AddressRequest::ResetLink { entry: None }).await;
    app.reset
        .reset_with_token(&token, NEW_PASSWORD, &ClientInfo::default())
        .await
        .unwrap();
    assert!(pool.refresh_works(&session).await, "not signed out yet");

    let mail_dir = tempfile::tempdir().unwrap();
    let mailer = Arc::new(rekey::mail::file::FileMailer::new(
        mail_dir.path().to_path_buf(),
        "rekey <no-reply@rekey.localhost>".to_string(),
    ));
    let cfg = shared_config();
    let outbox = rekey::delivery::Outbox {
        store: s.store.clone(),
        texts: None,
        mailer,
        keys: cfg.keys.clone(),
        product_name: cfg.product_name.clone(),
        webhooks: None,
        directory: Some(pool.directory(s.store.clone(), true).await),
    };
    assert_eq!(outbox.drain(10).await.unwrap(), 1);
    assert!(
        !pool.refresh_works(&session).await,
        "signed out by the delivery"
    );
}

/// The pool directory, except that its sign-out always fails.
struct NoSignOut(Arc<CognitoPool>);

#[async_trait::async_trait]
impl Directory for NoSignOut {
    async fn user_by_email(
        &self,
        email: &rekey::domain::EmailAddress,
    ) -> Result<Option<rekey::domain::User>, rekey::directory::DirectoryError> {
        self.0.user_by_email(email).await
    }
    async fn user(
        &self,
        id: &rekey::domain::UserId,
    ) -> Result<Option<rekey::domain::User>, rekey::directory::DirectoryError> {
        self.0.user(id).await
    }
    fn keeps_passwords(&self) -> bool {
        true
    }
    async fn set_password(
        &self,
        user: &rekey::domain::User,
        password: &rekey::password::NewPassword,
    ) -> Result<(), rekey::directory::DirectoryError> {
        self.0.set_password(user, password).await
    }
    async fn sign_out(
        &self,
        _: &rekey::domain::UserId,
    ) -> Result<(), rekey::directory::DirectoryError> {
        Err(rekey::directory::DirectoryError::Unavailable(
            "AdminUserGlobalSignOut: throttled".into(),
        ))
    }
    async fn sign_in(
        &self,
        user: &rekey::domain::User,
        password: &rekey::password::NewPassword,
    ) -> Result<Option<rekey::directory::DirectorySession>, rekey::directory::DirectoryError> {
        self.0.sign_in(user, password).await
    }
}

/// Not a check: the figures of docs/benchmarks.md ("A reset with a Cognito
/// pool"). `cargo test -p rekey --all-features --test integration
/// pool_reset_latency_by_call -- --ignored --nocapture`
#[tokio::test]
#[ignore]
async fn pool_reset_latency_by_call() {
    use std::time::Instant;
    const RUNS: usize = 20;
    let s = TestStore::new(StoreKind::Dynamo).await;
    let pool = TestPool::new(None).await;
    let app = pool_app(s.store.clone(), &pool, true).await;
    let own = App::new(&shared_config(), s.store.clone());
    let directory = pool.directory(s.store.clone(), true).await;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let (mut pool_reset, mut own_reset) = (Vec::new(), Vec::new());
    let (mut by_sub, mut set, mut sign_out, mut by_address) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..RUNS {
        let user = pool.add_user(&unique_email()).await;
        let token = link_for(&app, &user, AddressRequest::ResetLink { entry: None }).await;
        let t = Instant::now();
        app.reset
            .reset_with_token(
                &token,
                &format!("Timed-Horse-{i}-Battery"),
                &ClientInfo::default(),
            )
            .await
            .unwrap();
        pool_reset.push(ms(t));

        let t = Instant::now();
        let account = directory.user(&user.sub).await.unwrap().unwrap();
        by_sub.push(ms(t));
        let t = Instant::now();
        directory.user_by_email(&user.email).await.unwrap().unwrap();
        by_address.push(ms(t));
        let t = Instant::now();
        directory
            .set_password(
                &account,
                &rekey::password::NewPassword::normalize(NEW_PASSWORD),
            )
            .await
            .unwrap();
        set.push(ms(t));
        let t = Instant::now();
        directory.sign_out(&account.id).await.unwrap();
        sign_out.push(ms(t));

        let own_user = add_user(&**own.store(), &shared_config(), &unique_email()).await;
        deliver_now(
            &own.reset,
            AddressRequest::ResetLink { entry: None },
            &own_user.email,
            &ClientInfo::default(),
        )
        .await;
        let token = latest_token(&own).await;
        let t = Instant::now();
        own.reset
            .reset_with_token(
                &token,
                &format!("Timed-Horse-{i}-Battery"),
                &ClientInfo::default(),
            )
            .await
            .unwrap();
        own_reset.push(ms(t));
    }
    println!(
        "{}",
        json!({
            "runs": RUNS,
            "reset_with_pool_ms": median(pool_reset),
            "reset_with_rekey_accounts_ms": median(own_reset),
            "look_up_by_sub_ms (ListUsers + record GetItem)": median(by_sub),
            "look_up_by_address_ms (ListUsers + record GetItem)": median(by_address),
            "AdminSetUserPassword_ms": median(set),
            "AdminUserGlobalSignOut_ms (username cached)": median(sign_out),
        })
    );
}

/// A pool that fails at delivery leaves the request to be retried without
/// spending the address's mail limit: the retry mails.
#[tokio::test]
async fn a_pool_outage_at_delivery_spends_no_mail_limit() {
    let s = TestStore::new(StoreKind::Embedded).await;
    let pool = TestPool::new(None).await;
    let user = pool.add_user(&unique_email()).await;
    let cfg = config_with(&[("REKEY_LIMIT_EMAIL_PER_MINUTE", "1")]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sdk = aws_config()
        .await
        .into_builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    let down = rekey::App::new(&cfg, s.store.clone())
        .with_directory(Arc::new(CognitoPool::from_sdk_config(
            &sdk,
            pool.pool_id.clone(),
            None,
            s.store.clone(),
        )))
        .reset;
    down.accept_address_request(
        AddressRequest::ResetLink { entry: None },
        &user.email,
        &ClientInfo::default(),
        None,
    )
    .await
    .unwrap();
    assert!(
        down.drain_intake(10).await.is_err() || s.store.pending_mail(10).await.unwrap().is_empty()
    );
    let up = rekey::App::new(&cfg, s.store.clone())
        .with_directory(pool.directory(s.store.clone(), false).await)
        .reset;
    up.drain_intake(10).await.unwrap();
    assert_eq!(take_links(&s.store, &cfg).await.len(), 1, "the retry mails");
}

/// With a pool rekey holds no password to check: the token endpoint's
/// password grant is refused as a request error naming the pool, not as a
/// wrong password, and the pool user's right password does not get one.
#[tokio::test]
async fn the_password_grant_is_refused_with_a_pool() {
    let s = TestStore::new(StoreKind::Dynamo).await;
    let pool = TestPool::new(None).await;
    let user = pool.add_user(&unique_email()).await;
    let app = pool_app(s.store.clone(), &pool, true).await;
    let client_id = shared_config().session.client_id;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "password"),
            ("client_id", client_id.as_str()),
            ("username", user.email.as_str()),
            ("password", pool.password.as_str()),
        ])
        .finish();
    let resp = post_to(
        &app,
        Function::OAuthToken,
        &[("content-type", "application/x-www-form-urlencoded")],
        form.as_str(),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let body = response_json(&resp);
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Cognito"),
        "{body}"
    );
    assert!(body.get("access_token").is_none());
}
