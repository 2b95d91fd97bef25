//! Faults: DynamoDB going away and coming back, transactions cut off on
//! the network or refused by a locked database, transactions cancelled by a
//! race, and SES refusing to send.
//!
//! Tests that stop DynamoDB or cut its traffic start a moto of their own
//! (scripts/moto_serial.py, with the Python in `MOTO_PYTHON`, which
//! scripts/test exports; default `.venv/bin/python` at the repository root),
//! so no other test is disturbed; it is killed when the test ends, however
//! it ends. Their DynamoDB client is built as the functions build theirs
//! (`rekey::aws::sdk_config`: bounded attempts and timeouts). The others use
//! the shared moto at `MOTO_ENDPOINT`.

use rekey::reset::AddressRequest;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use lambda_http::RequestExt;
use rekey::App;
use rekey::config::Config;
use rekey::crypto::{BearerSecret, LINK_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX};
use rekey::delivery::Outbox;
use rekey::domain::{
    ApiKey, AuditEvent, CredentialVersion, OutboxItem, PasswordChange, Redemption, RefreshToken,
    ResetCode, ResetGrant, Scope, User, UserId,
};
use rekey::mail::ses::SesMailer;
use rekey::mail::{MailError, Mailer, RenderedMail};
use rekey::routes::Function;
use rekey::store::dynamo::DynamoStore;
use rekey::store::{AccountStore, ApiKeyStore, Store, StoreError};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Resp = lambda_http::Response<lambda_http::Body>;

const JSON: (&str, &str) = ("content-type", "application/json");
const SECOND_PASSWORD: &str = "Another-Quiet-Lake-77";

// ---------------------------------------------------------------------------
// A moto of the test's own

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("shared/ has a parent")
        .to_path_buf()
}

/// The Python with moto installed: `MOTO_PYTHON`, else the project's .venv.
fn moto_python() -> PathBuf {
    std::env::var_os("MOTO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// moto (scripts/moto_serial.py) on a port of this test's own. Killed when
/// dropped, whatever happens to the test.
struct PrivateMoto {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl PrivateMoto {
    /// Starts moto on `port` and waits (bounded) until it answers.
    async fn start(port: u16) -> Self {
        let python = moto_python();
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("moto-{port}-{}.log", uuid::Uuid::new_v4().simple()));
        let out = std::fs::File::create(&log).expect("moto log file");
        let child = Command::new(&python)
            .arg(repo_root().join("scripts/moto_serial.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("moto log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto with {}: {e}; set MOTO_PYTHON to a Python that has moto \
                     (scripts/test does)",
                    python.display()
                )
            });
        let mut moto = Self {
            child: Some(child),
            port,
            log,
        };
        moto.wait_until_answering().await;
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_until_answering(&mut self) {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let url = format!("{}/moto-api/data.json", self.endpoint());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let child = self.child.as_mut().expect("moto was started");
            if let Some(status) = child.try_wait().expect("moto's status") {
                panic!(
                    "moto exited ({status}) before answering; its log:\n{}",
                    self.log_text()
                );
            }
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto did not answer within 60 s; its log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGSTOP or SIGCONT: moto hangs (connections are accepted by
    /// the kernel, never answered) or resumes, its state intact.
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("moto is running").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// SIGKILL: the outage is abrupt, and moto's state is gone with it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        self.kill();
        // Its log is kept only when the test failed.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A DynamoDB client as the functions build it (rekey::aws::sdk_config: 1 s
/// connect, 2 s per attempt, 5 s per operation, 3 attempts), at `endpoint`.
async fn production_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let sdk = rekey::aws::sdk_config().await.expect("moto on loopback");
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

// ---------------------------------------------------------------------------
// Fixtures and requests

async fn successes_audited(store: &dyn Store, user: &UserId) -> Vec<AuditEvent> {
    store
        .audit_events(user, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == "success")
        .collect()
}

// ---------------------------------------------------------------------------
// 1. DynamoDB stopped mid-test, then back

/// What an operator restores after the outage: the account and the keys.
struct Fixture {
    config: Config,
    user: User,
    request_key: (String, ApiKey),
    users_key: (String, ApiKey),
}

impl Fixture {
    async fn restore(&self, store: &DynamoStore) {
        store.create_table().await.expect("create the table");
        store.insert_user(&self.user).await.unwrap();
        store.insert_api_key(&self.request_key.1).await.unwrap();
        store.insert_api_key(&self.users_key.1).await.unwrap();
    }

    fn email(&self) -> &str {
        self.user.email.as_str()
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.users_key.0)
    }

    /// The function and request of one of `CALLS`.
    fn request(&self, name: &str, token: &str) -> (Function, lambda_http::Request) {
        let id = self.user.id.as_str();
        let bearer = self.bearer();
        let zitadel = [JSON, ("authorization", bearer.as_str())];
        let in_path = || HashMap::from([("userId".to_string(), id.to_string())]);
        let set_body =
            json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": "ABC123"});
        match name {
            "payabli request-reset" => (
                Function::RequestReset,
                post(
                    "/api/User/authreset",
                    &[JSON, ("requestToken", &self.request_key.0)],
                    &json!({"email": self.email()}),
                ),
            ),
            "unleash validate-token" => (
                Function::ValidateToken,
                apigw_request(
                    "GET",
                    "/auth/reset/validate",
                    &[("token", token)],
                    &[],
                    None,
                ),
            ),
            "unleash reset-password" => (
                Function::ResetPassword,
                post(
                    "/auth/reset/password",
                    &[JSON],
                    &json!({"token": token, "password": NEW_PASSWORD}),
                ),
            ),
            "unleash validate-password" => (
                Function::ValidatePassword,
                post(
                    "/auth/reset/validate-password",
                    &[JSON],
                    &json!({"password": NEW_PASSWORD}),
                ),
            ),
            "zitadel rest PasswordReset" => (
                Function::RequestUserReset,
                post(
                    &format!("/v2/users/{id}/password_reset"),
                    &zitadel,
                    &json!({"returnCode": {}}),
                )
                .with_path_parameters(in_path()),
            ),
            "zitadel connect PasswordReset" => (
                Function::RequestUserReset,
                post(
                    "/zitadel.user.v2.UserService/PasswordReset",
                    &zitadel,
                    &json!({"userId": id, "returnCode": {}}),
                ),
            ),
            "zitadel rest SetPassword" => (
                Function::SetPassword,
                post(&format!("/v2/users/{id}/password"), &zitadel, &set_body)
                    .with_path_parameters(in_path()),
            ),
            "zitadel connect SetPassword" => {
                let mut body = set_body;
                body["userId"] = json!(id);
                (
                    Function::SetPassword,
                    post("/zitadel.user.v2.UserService/SetPassword", &zitadel, &body),
                )
            }
            "django send-reset-link" => (
                Function::SendResetLink,
                post(
                    "/api/v1/iam/accounts/send-reset-password-link/",
                    &[JSON],
                    &json!({"login": self.email()}),
                ),
            ),
            "django reset-password" => (
                Function::ResetPasswordSigned,
                post(
                    "/api/v1/iam/accounts/reset-password/",
                    &[JSON],
                    &json!({"user_id": id, "timestamp": now_secs(), "signature": "c2ln", "password": NEW_PASSWORD}),
                ),
            ),
            "oauth recover-account" => (
                Function::RecoverAccount,
                post(
                    "/api/v2/account/recover/",
                    &[JSON],
                    &json!({"email": self.email()}),
                ),
            ),
            "oauth reset-account" => (
                Function::ResetAccount,
                post(
                    "/api/v2/account/reset/",
                    &[JSON],
                    &json!({"validation_code": token, "password": NEW_PASSWORD}),
                ),
            ),
            other => panic!("unknown call {other}"),
        }
    }
}

/// Every POST and GET function, Zitadel's in both dialects.
const CALLS: [&str; 12] = [
    "payabli request-reset",
    "unleash validate-token",
    "unleash reset-password",
    "unleash validate-password",
    "zitadel rest PasswordReset",
    "zitadel connect PasswordReset",
    "zitadel rest SetPassword",
    "zitadel connect SetPassword",
    "django send-reset-link",
    "django reset-password",
    "oauth recover-account",
    "oauth reset-account",
];

/// One endpoint per contract, as a client uses them, all answering 200; the
/// link-token reset ends with `password`.
async fn healthy_round(app: &App, f: &Fixture, password: &str) {
    let store = &**app.store();
    take_mail(app.store(), &f.config).await;
    let call = |name: &'static str| {
        let (function, req) = f.request(name, "unused");
        async move {
            let resp = function.handle(app, req).await;
            assert_eq!(
                resp.status(),
                200,
                "{name}: {}",
                String::from_utf8_lossy(resp.body())
            );
            resp
        }
    };

    // Payabli, then Unleash with the mailed token.
    call("payabli request-reset").await;
    let links = take_links(app.store(), &f.config).await;
    assert_eq!(links.len(), 1, "one reset mail");
    let token = link_param(&links[0], "token");
    let resp = Function::ValidateToken
        .handle(
            app,
            apigw_request(
                "GET",
                "/auth/reset/validate",
                &[("token", &token)],
                &[],
                None,
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(response_json(&resp)["email"], f.email());
    let resp = Function::ResetPassword
        .handle(
            app,
            post(
                "/auth/reset/password",
                &[JSON],
                &json!({"token": token, "password": password}),
            ),
        )
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    let hash = store
        .user(&f.user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(verifies(&f.config, password, &hash));

    // Zitadel, both dialects.
    for name in [
        "zitadel rest PasswordReset",
        "zitadel connect PasswordReset",
    ] {
        let resp = call(name).await;
        assert!(
            response_json(&resp)["verificationCode"].is_string(),
            "{name}"
        );
    }
    // django and the OAuth recovery: each mails a link.
    call("django send-reset-link").await;
    call("oauth recover-account").await;
    assert_eq!(take_links(app.store(), &f.config).await.len(), 2);
}

/// The dialect's 503, whatever the function (also password_profiles.rs).
pub(crate) fn assert_unavailable(name: &str, function: Function, resp: &Resp) {
    assert_eq!(
        resp.status(),
        503,
        "{name}: {}",
        String::from_utf8_lossy(resp.body())
    );
    let body = response_json(resp);
    let rest = !name.contains("connect");
    match function {
        Function::RequestReset => assert_eq!(
            body,
            json!({"isSuccess": false, "responseText": "Database connection error"}),
            "{name}"
        ),
        Function::ValidateToken | Function::ResetPassword | Function::ValidatePassword => {
            assert_eq!(body["name"], "ServiceUnavailableError", "{name}: {body}");
            assert!(body["id"].is_string() && body["message"].is_string());
        }
        Function::RequestUserReset | Function::SetPassword if rest => {
            assert_eq!(body["code"], 14, "{name}: {body}");
            assert!(body["message"].is_string() && body["details"].is_array());
        }
        Function::RequestUserReset | Function::SetPassword => {
            assert_eq!(body["code"], "unavailable", "{name}: {body}");
            assert!(body["message"].is_string());
        }
        Function::SendResetLink | Function::ResetPasswordSigned => {
            let obj = body.as_object().unwrap();
            assert!(
                obj.len() == 1 && obj["detail"].is_string(),
                "{name}: {body}"
            );
        }
        Function::RecoverAccount | Function::ResetAccount => {
            assert_eq!(body["error"], "temporarily_unavailable", "{name}: {body}");
            assert!(body["error_description"].is_string());
        }
        other => panic!("{other:?} is not called here"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_outage_is_503_in_every_dialect_and_the_same_app_recovers() {
    let port = free_port();
    let mut moto = PrivateMoto::start(port).await;
    let store = DynamoStore::new(
        production_client(&moto.endpoint()).await,
        unique("rekey-faults"),
    );
    let config = config();
    let fixture = Fixture {
        user: {
            // add_user writes it; the table does not exist yet, so build it
            // in a scratch store and keep the record.
            let scratch = embedded_store();
            add_user(&scratch.store, &config, &unique_email()).await
        },
        request_key: api_key(&[Scope::ResetRequest]),
        users_key: api_key(&[Scope::UsersWrite, Scope::UsersAdmin]),
        config,
    };
    fixture.restore(&store).await;
    let app =
        App::new(&fixture.config, Arc::new(store.clone())).with_signer(crate::support::signer());

    healthy_round(&app, &fixture, NEW_PASSWORD).await;

    // DynamoDB goes away. Every function answers its dialect's 503, within
    // the SDK's bounds, and nothing panics (each handler runs in its own task).
    moto.kill();
    let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
    let started = Instant::now();
    let calls: Vec<_> = CALLS
        .into_iter()
        .map(|name| {
            let (function, req) = fixture.request(name, token.expose());
            let app = app.clone();
            tokio::spawn(async move { (name, function, function.handle(&app, req).await) })
        })
        .collect();
    for call in calls {
        let (name, function, resp) = call.await.expect("no handler panics");
        assert_unavailable(name, function, &resp);
    }
    let outage = started.elapsed();
    assert!(
        outage < Duration::from_secs(20),
        "503s took {outage:?}: the SDK's timeouts should bound them at about 5 s"
    );

    // DynamoDB is back, on the same address but empty: the operator
    // recreates the table and restores the account and keys. The same App
    // (no restart, the same SDK client) serves again.
    let moto = PrivateMoto::start(port).await;
    fixture.restore(&store).await;
    healthy_round(&app, &fixture, SECOND_PASSWORD).await;
    drop(moto);
    eprintln!(
        "dynamodb outage: {} calls answered 503 in {outage:?}",
        CALLS.len()
    );
}

/// DynamoDB hangs (moto stopped with SIGSTOP: connections accepted, never
/// answered): every function answers its dialect's 503 once the SDK's
/// per-attempt and per-operation timeouts run out, not later; when DynamoDB
/// answers again, so does the same App.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_dynamodb_is_503_within_the_sdk_timeouts_and_recovers() {
    let moto = PrivateMoto::start(free_port()).await;
    let store = DynamoStore::new(
        production_client(&moto.endpoint()).await,
        unique("rekey-faults"),
    );
    let config = config();
    let fixture = Fixture {
        user: {
            let scratch = embedded_store();
            add_user(&scratch.store, &config, &unique_email()).await
        },
        request_key: api_key(&[Scope::ResetRequest]),
        users_key: api_key(&[Scope::UsersWrite, Scope::UsersAdmin]),
        config,
    };
    fixture.restore(&store).await;
    let app = App::new(&fixture.config, Arc::new(store)).with_signer(crate::support::signer());

    moto.signal("-STOP");
    let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
    let calls: Vec<_> = CALLS
        .into_iter()
        .map(|name| {
            let (function, req) = fixture.request(name, token.expose());
            let app = app.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let resp = function.handle(&app, req).await;
                (name, function, resp, started.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for call in calls {
        let (name, function, resp, took) = call.await.expect("no handler panics");
        assert_unavailable(name, function, &resp);
        // 5 s per operation (rekey::aws); the first store call fails it.
        assert!(took < Duration::from_secs(8), "{name}: 503 after {took:?}");
        slowest = slowest.max(took);
    }
    moto.signal("-CONT");
    healthy_round(&app, &fixture, NEW_PASSWORD).await;
    eprintln!("hung dynamodb: slowest 503 after {slowest:?}");
}

// ---------------------------------------------------------------------------
// 2. Nothing half-written

/// Cheap hashing: these tests race stores, not argon2.
fn cheap_config() -> Config {
    config_with(&[
        ("REKEY_ARGON2_MEMORY_KIB", "1024"),
        ("REKEY_ARGON2_ITERATIONS", "1"),
    ])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proof {
    /// A link token's grant, with a session (account recovery).
    Link,
    /// A Zitadel code.
    Code,
    /// Nothing stored: a signed link or an admin.
    Nothing,
}

const PROOFS: [Proof; 3] = [Proof::Link, Proof::Code, Proof::Nothing];

fn outbox_item(n: usize) -> OutboxItem {
    OutboxItem {
        id: unique("mail"),
        sealed: format!("sealed-{n}"),
        created_at: now(),
    }
}

struct Contender {
    proof: Proof,
    change: PasswordChange,
    redemption: Redemption,
}

/// Three password changes of one user, each consuming a different proof,
/// all expecting the version the user has.
async fn contenders(store: &dyn Store, user: &User, n: usize) -> (ResetGrant, Vec<Contender>) {
    let t = now();
    let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
    let grant = ResetGrant {
        digest: token.digest(),
        user_id: user.id.clone(),
        credential_version: user.credential_version,
        issued_at: t,
        expires_at: t + secs(3600),
        used_at: None,
        purpose: None,
        origin: None,
    };
    store.insert_grant(&grant, &outbox_item(n)).await.unwrap();
    let code = ResetCode {
        user_id: user.id.clone(),
        digest: "00".repeat(32),
        credential_version: user.credential_version,
        issued_at: t,
        expires_at: t + secs(3600),
        attempts: 0,
    };
    store.replace_reset_code(&code, None).await.unwrap();
    let contenders = PROOFS
        .iter()
        .map(|&proof| {
            let session = (proof == Proof::Link).then(|| RefreshToken {
                digest: BearerSecret::generate(REFRESH_TOKEN_PREFIX).digest(),
                user_id: user.id.clone(),
                credential_version: user.credential_version.next(),
                client_id: "faults".into(),
                scope: "openid".into(),
                issued_at: t,
                expires_at: t + secs(3600),
                family: uuid::Uuid::new_v4().to_string(),
                used_at: None,
            });
            Contender {
                proof,
                redemption: match proof {
                    Proof::Link => Redemption::Grant(grant.digest.clone()),
                    Proof::Code => Redemption::Code {
                        digest: code.digest.clone(),
                    },
                    Proof::Nothing => Redemption::Nothing,
                },
                change: PasswordChange {
                    user_id: user.id.clone(),
                    expected: user.credential_version,
                    new_hash: format!("hash-by-{proof:?}-{n}"),
                    history: vec![format!("history-by-{proof:?}")],
                    changed_at: t,
                    notice: outbox_item(n),
                    webhooks: Vec::new(),
                    session,
                    audit: AuditEvent {
                        id: unique("audit"),
                        user_id: user.id.clone(),
                        action: format!("{proof:?}"),
                        outcome: "success".into(),
                        at: t,
                        source_ip: None,
                        user_agent: None,
                        expires_at: t + secs(3600),
                    },
                },
            }
        })
        .collect();
    (grant, contenders)
}

/// For many users at once, three password changes that each consume a
/// different proof race through `Store::change_password`. Every one reaches
/// the store's transaction; exactly one per user commits, the other two are
/// cancelled by the credential-version condition (two thirds of all
/// transactions). For each user, whatever won: the grant is used iff the
/// link's change won, the code is gone iff the code's change won, the hash,
/// history, notice, audit event and session are the winner's and only the
/// winner's, and the version moved by exactly one.
async fn racing_changes_commit_whole_or_not_at_all(store: Arc<dyn Store>) {
    const USERS: usize = 16;
    let config = cheap_config();
    let mut users = Vec::new();
    for n in 0..USERS {
        let user = add_user(&*store, &config, &unique_email()).await;
        let (grant, contenders) = contenders(&*store, &user, n).await;
        users.push((user, grant, contenders));
    }
    let start = Arc::new(tokio::sync::Barrier::new(USERS * PROOFS.len()));
    let mut tasks = Vec::new();
    for (u, (_, _, contenders)) in users.iter().enumerate() {
        for c in contenders {
            let (store, start) = (store.clone(), start.clone());
            let (change, redemption, proof) = (c.change.clone(), c.redemption.clone(), c.proof);
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                (u, proof, store.change_password(&change, &redemption).await)
            }));
        }
    }
    let mut winners: Vec<Vec<Proof>> = vec![Vec::new(); USERS];
    let mut cancelled = 0;
    for t in tasks {
        let (u, proof, result) = t.await.unwrap();
        match result {
            Ok(()) => winners[u].push(proof),
            Err(StoreError::Conflict(_)) => cancelled += 1,
            Err(e) => panic!("a racing change failed otherwise than by the race: {e:?}"),
        }
    }
    assert_eq!(
        cancelled,
        USERS * 2,
        "two of three changes per user cancelled"
    );

    for ((user, grant, contenders), won) in users.iter().zip(&winners) {
        assert_eq!(won.len(), 1, "exactly one change per user commits: {won:?}");
        let winner = won[0];
        let after = store.user(&user.id).await.unwrap().unwrap();
        let by = |p: Proof| contenders.iter().find(|c| c.proof == p).unwrap();
        assert_eq!(after.credential_version, CredentialVersion(1));
        assert_eq!(
            after.password_hash.as_deref(),
            Some(by(winner).change.new_hash.as_str())
        );
        assert_eq!(after.password_history, by(winner).change.history);
        let used = store.grant(&grant.digest).await.unwrap().unwrap().used_at;
        assert_eq!(
            used.is_some(),
            winner == Proof::Link,
            "the grant is used iff the link's change won ({winner:?} won)"
        );
        assert_eq!(
            store.reset_code(&user.id).await.unwrap().is_none(),
            winner == Proof::Code,
            "the code is consumed iff the code's change won ({winner:?} won)"
        );
        let session = by(Proof::Link).change.session.as_ref().unwrap();
        assert_eq!(
            store
                .refresh_token(&session.digest)
                .await
                .unwrap()
                .is_some(),
            winner == Proof::Link,
            "the session exists iff the link's change won ({winner:?} won)"
        );
        for c in contenders {
            assert_eq!(
                store.mail_pending(&c.change.notice.id).await.unwrap(),
                c.proof == winner,
                "only the winner's notice is queued ({:?})",
                c.proof
            );
        }
        let audit = store.audit_events(&user.id, 10).await.unwrap();
        assert_eq!(audit.len(), 1, "only the winner's audit event");
        assert_eq!(audit[0].id, by(winner).change.audit.id);
    }
    let tally = PROOFS.map(|p| winners.iter().filter(|w| w[0] == p).count());
    eprintln!("racing changes: {cancelled} cancelled; wins by proof {PROOFS:?}: {tally:?}");
}

crate::on_both_stores!(
    racing_changes_commit_whole_or_not_at_all,
    racing_changes_commit_whole_or_not_at_all,
    4
);

/// The state a link-token reset leaves, checked whole: `changed` says
/// whether it committed. Every part agrees or the test fails.
async fn assert_whole(
    store: &dyn Store,
    config: &Config,
    user: &User,
    grant: &ResetGrant,
    password: &str,
    changed: bool,
) {
    let after = store.user(&user.id).await.unwrap().unwrap();
    let hash = after.password_hash.clone().unwrap();
    let used = store.grant(&grant.digest).await.unwrap().unwrap().used_at;
    let state = format!(
        "grant used: {}, version: {}, new password set: {}, notices: {}, audited: {}",
        used.is_some(),
        after.credential_version.0,
        verifies(config, password, &hash),
        notices_for(store, config, &user.id).await,
        successes_audited(store, &user.id).await.len(),
    );
    let want = format!(
        "grant used: {changed}, version: {}, new password set: {changed}, notices: {n}, audited: {n}",
        u64::from(changed),
        n = usize::from(changed),
    );
    assert_eq!(state, want, "the reset is whole or absent");
    assert_eq!(verifies(config, OLD_PASSWORD, &hash), !changed);
}

/// A link token mailed to a new user of `store`, and its grant.
async fn user_with_token(app: &App, config: &Config) -> (User, String, ResetGrant) {
    let store = &**app.store();
    let user = add_user(store, config, &unique_email()).await;
    deliver_now(
        &app.reset,
        AddressRequest::ResetLink { entry: None },
        &user.email,
        &Default::default(),
    )
    .await;
    let links = take_links(app.store(), config).await;
    let token = link_param(&links[0], "token");
    let grant = store
        .grant(
            &BearerSecret::parse(LINK_TOKEN_PREFIX, &token)
                .unwrap()
                .digest(),
        )
        .await
        .unwrap()
        .unwrap();
    (user, token, grant)
}

/// A reset-password request without a source address (as when no API
/// Gateway context is present): no rate counter is written before the
/// transaction, so the only write is the one under test.
fn reset_without_source(token: &str, password: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/auth/reset/password")
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(
            json!({"token": token, "password": password}).to_string(),
        ))
        .unwrap()
}

/// The embedded store's database is write-locked by another connection (as
/// `rekeyctl` may hold it) when a reset reaches its transaction: the reads
/// before it succeed (WAL), the transaction gives up after the busy timeout,
/// the client gets Unleash's 503, and nothing of the reset is written. The
/// same token then works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_the_embedded_store_cannot_take_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rekey.db");
    let store = rekey::store::embedded::EmbeddedStore::open(&path).unwrap();
    let config = config();
    let app = App::new(&config, Arc::new(store)).with_signer(crate::support::signer());
    let (user, token, grant) = user_with_token(&app, &config).await;

    let lock = rusqlite::Connection::open(&path).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let resp = Function::ResetPassword
        .handle(&app, reset_without_source(&token, NEW_PASSWORD))
        .await;
    let waited = started.elapsed();
    assert_eq!(
        resp.status(),
        503,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    assert_eq!(response_json(&resp)["name"], "ServiceUnavailableError");
    assert!(waited < Duration::from_secs(15), "bounded: {waited:?}");
    lock.execute_batch("ROLLBACK").unwrap();
    assert_whole(&**app.store(), &config, &user, &grant, NEW_PASSWORD, false).await;

    let resp = Function::ResetPassword
        .handle(&app, reset_without_source(&token, NEW_PASSWORD))
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    assert_whole(&**app.store(), &config, &user, &grant, NEW_PASSWORD, true).await;
}

/// What the proxy does to DynamoDB's TransactWriteItems; everything else
/// always passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Pass,
    /// The request never reaches DynamoDB; the connection is closed.
    LoseRequest,
    /// DynamoDB gets (and applies) the request; its answer is dropped.
    LoseResponse,
    /// `LoseResponse` once, then `Pass`: one lost answer, the SDK's retry
    /// gets through.
    LoseNextResponse,
}

/// A TCP proxy in front of moto that loses transactions on demand.
struct FaultProxy {
    addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    lost_requests: Arc<AtomicUsize>,
    lost_responses: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl FaultProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let lost_requests = Arc::new(AtomicUsize::new(0));
        let lost_responses = Arc::new(AtomicUsize::new(0));
        let (f, lq, ls) = (fault.clone(), lost_requests.clone(), lost_responses.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let (f, lq, ls) = (f.clone(), lq.clone(), ls.clone());
                tokio::spawn(async move {
                    let _ = Self::relay(client, upstream, f, lq, ls).await;
                });
            }
        });
        Self {
            addr,
            fault,
            lost_requests,
            lost_responses,
            task,
        }
    }

    fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn relay(
        mut client: tokio::net::TcpStream,
        upstream: SocketAddr,
        fault: Arc<Mutex<Fault>>,
        lost_requests: Arc<AtomicUsize>,
        lost_responses: Arc<AtomicUsize>,
    ) -> std::io::Result<()> {
        // The request head decides; moto answers one request per connection.
        let mut head = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        let head_end = loop {
            if let Some(i) = find(&head, b"\r\n\r\n") {
                break i + 4;
            }
            let n = client.read(&mut buf).await?;
            if n == 0 || head.len() > 1 << 20 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
        };
        let headers = String::from_utf8_lossy(&head[..head_end]).to_ascii_lowercase();
        let header = |name: &str| {
            headers
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let transaction =
            header("x-amz-target:").is_some_and(|t| t.ends_with(".transactwriteitems"));
        let fault = if transaction {
            let mut current = fault.lock().unwrap();
            match *current {
                Fault::LoseNextResponse => {
                    *current = Fault::Pass;
                    Fault::LoseResponse
                }
                other => other,
            }
        } else {
            Fault::Pass
        };
        match fault {
            Fault::Pass => {
                let mut up = tokio::net::TcpStream::connect(upstream).await?;
                up.write_all(&head).await?;
                tokio::io::copy_bidirectional(&mut client, &mut up).await?;
            }
            Fault::LoseRequest => {
                lost_requests.fetch_add(1, Ordering::SeqCst);
            }
            Fault::LoseResponse | Fault::LoseNextResponse => {
                let length: usize = header("content-length:")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut up = tokio::net::TcpStream::connect(upstream).await?;
                up.write_all(&head).await?;
                let mut sent = head.len() - head_end;
                while sent < length {
                    let n = client.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    up.write_all(&buf[..n]).await?;
                    sent += n;
                }
                // Wait for DynamoDB's whole answer (moto closes after it),
                // then drop it and the client's connection.
                let mut answer = Vec::new();
                let _ = tokio::time::timeout(Duration::from_secs(10), up.read_to_end(&mut answer))
                    .await;
                lost_responses.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

/// A reset whose transaction is lost on the network, on DynamoDB:
/// - the request lost: Unleash's 503 after the SDK's bounded retries, and
///   nothing written; the token still works;
/// - every response lost: DynamoDB applied the transaction but the client
///   hears 503. The reset is then whole (token used, new hash, version +1,
///   one notice, one audit event) even though the SDK sent the transaction
///   three times; a retry with the token is told it was used;
/// - one response lost: the SDK's retry gets through; whole, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_lost_on_the_way_to_dynamodb_is_whole_or_absent() {
    // A moto of its own: the SDK's 5 s bounds apply here, and the shared
    // moto answers one request at a time to every test.
    let moto = PrivateMoto::start(free_port()).await;
    let upstream: SocketAddr = ([127, 0, 0, 1], moto.port).into();
    let proxy = FaultProxy::start(upstream).await;
    let store = DynamoStore::new(
        production_client(&proxy.endpoint()).await,
        unique("rekey-faults"),
    );
    store.create_table().await.unwrap();
    let config = config();
    let app = App::new(&config, Arc::new(store)).with_signer(crate::support::signer());
    let store = &**app.store();

    // The request is lost: nothing written.
    let (user, token, grant) = user_with_token(&app, &config).await;
    proxy.set(Fault::LoseRequest);
    let started = Instant::now();
    let resp = Function::ResetPassword
        .handle(&app, reset_without_source(&token, NEW_PASSWORD))
        .await;
    let took = started.elapsed();
    proxy.set(Fault::Pass);
    assert_eq!(
        resp.status(),
        503,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    assert_eq!(response_json(&resp)["name"], "ServiceUnavailableError");
    assert!(took < Duration::from_secs(15), "bounded: {took:?}");
    let lost = proxy.lost_requests.load(Ordering::SeqCst);
    assert!(lost >= 1, "the transaction was attempted");
    assert_whole(store, &config, &user, &grant, NEW_PASSWORD, false).await;
    let resp = Function::ResetPassword
        .handle(&app, reset_without_source(&token, NEW_PASSWORD))
        .await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
    assert_whole(store, &config, &user, &grant, NEW_PASSWORD, true).await;

    // The response is lost: applied once, heard as 503.
    let (user, token, grant) = user_with_token(&app, &config).await;
    proxy.set(Fault::LoseResponse);
    let started = Instant::now();
    let resp = Function::ResetPassword
        .handle(&app, reset_without_source(&token, NEW_PASSWORD))
        .await;
    let took_lost_answer = started.elapsed();
    proxy.set(Fault::Pass);
    let status = resp.status().as_u16();
    let sent = proxy.lost_responses.load(Ordering::SeqCst);
    assert!(sent >= 1, "the transaction reached DynamoDB");
    assert!(
        took_lost_answer < Duration::from_secs(15),
        "bounded: {took_lost_answer:?}"
    );
    // Every attempt's answer was lost: the client hears 503. DynamoDB applied
    // the first; the SDK's retries (same ClientRequestToken) change nothing.
    assert_eq!(
        status,
        503,
        "lost answers: {}",
        String::from_utf8_lossy(resp.body())
    );
    assert_whole(store, &config, &user, &grant, NEW_PASSWORD, true).await;
    let resp = Function::ResetPassword
        .handle(&app, reset_without_source(&token, NEW_PASSWORD))
        .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(response_json(&resp)["name"], "UsedTokenError");
    assert_whole(store, &config, &user, &grant, NEW_PASSWORD, true).await;

    // One answer lost, the SDK's retry gets through. DynamoDB treats the
    // retry (same ClientRequestToken, within 10 minutes) as the same call and
    // answers success: 200. moto ignores the token, so the retry is refused
    // by the grant's condition and reset-password reports a used token: 403.
    // Either way the reset is whole and happened once.
    let (user, token, grant) = user_with_token(&app, &config).await;
    proxy.set(Fault::LoseNextResponse);
    let resp = Function::ResetPassword
        .handle(&app, reset_without_source(&token, NEW_PASSWORD))
        .await;
    proxy.set(Fault::Pass);
    let once = resp.status().as_u16();
    assert!(
        [200, 403].contains(&once),
        "one lost answer: {once} {}",
        String::from_utf8_lossy(resp.body())
    );
    assert_whole(store, &config, &user, &grant, NEW_PASSWORD, true).await;
    eprintln!(
        "lost transactions: request lost {lost}x -> 503 in {took:?}; \
         every response lost ({sent}x) -> {status} in {took_lost_answer:?}; \
         one response lost -> {once}"
    );
}

// ---------------------------------------------------------------------------
// 3. SES refusing to send

/// The SES mailer, counting what SES accepted and what it refused.
struct CountingMailer {
    ses: SesMailer,
    sent: AtomicUsize,
    refused: AtomicUsize,
}

impl CountingMailer {
    fn counts(&self) -> (usize, usize) {
        (
            self.sent.load(Ordering::SeqCst),
            self.refused.load(Ordering::SeqCst),
        )
    }
}

#[async_trait::async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        let result = self.ses.send(mail).await;
        match &result {
            Ok(()) => &self.sent,
            Err(_) => &self.refused,
        }
        .fetch_add(1, Ordering::SeqCst);
        result
    }
}

/// Lambda's retries of a failed stream batch (template.yaml,
/// `MaximumRetryAttempts` of the send-email event source).
const STREAM_RETRIES: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ses_refusal_is_retried_without_failing_requests_then_delivered_once() {
    let store = dynamo_store().await;
    let table = store.table_name().to_string();
    let store: Arc<dyn Store> = Arc::new(store);
    let config = config();
    let app = App::new(&config, store.clone()).with_signer(crate::support::signer());
    let (request_key, key) = api_key(&[Scope::ResetRequest]);
    store.insert_api_key(&key).await.unwrap();
    let email = unique_email();
    add_user(&*store, &config, &email).await;

    // A sender SES has not verified.
    let sender = format!("no-reply@{}.example", unique("sender"));
    let ses = aws_sdk_sesv2::Client::new(&aws_config().await);
    let mailer = Arc::new(CountingMailer {
        ses: SesMailer::new(ses.clone(), format!("Acme <{sender}>")),
        sent: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
    });
    let outbox = Outbox {
        store: store.clone(),
        texts: None,
        mailer: mailer.clone(),
        keys: config.keys.clone(),
        product_name: config.product_name.clone(),
        webhooks: None,
        directory: None,
    };
    let mut stream = StreamReader::open(&table).await;
    stream.next_event().await; // the setup's writes

    let resp = Function::RequestReset
        .handle(
            &app,
            post(
                "/api/User/authreset",
                &[JSON, ("requestToken", &request_key)],
                &json!({"email": email}),
            ),
        )
        .await;
    assert_eq!(resp.status(), 200, "a mail outage never fails the request");
    let (_, intake) = stream.next_event().await;
    let result = rekey::delivery::stream::consume_batch(&app.reset, &outbox, intake).await;
    assert!(result.batch_item_failures.is_empty());
    let (_, event) = stream.next_event().await;
    let outbox_records: Vec<String> = event
        .records
        .iter()
        .filter(|r| {
            r.change.new_image.get("kind")
                == Some(&serde_dynamo::AttributeValue::S("outbox".into()))
        })
        .filter_map(|r| r.change.sequence_number.clone())
        .collect();
    assert_eq!(outbox_records.len(), 1);
    let queued: Vec<String> = store
        .pending_mail(10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(queued.len(), 1);

    // The first delivery and every one of Lambda's retries: reported, kept.
    for attempt in 0..=STREAM_RETRIES {
        let result = rekey::delivery::stream::deliver_batch(&outbox, event.clone()).await;
        let failed: Vec<String> = result
            .batch_item_failures
            .iter()
            .filter_map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, outbox_records, "attempt {attempt}: reported");
        let still: Vec<String> = store
            .pending_mail(10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(still, queued, "attempt {attempt}: the item stays queued");
    }
    assert_eq!(mailer.counts(), (0, STREAM_RETRIES + 1), "(sent, refused)");
    // Requests are unaffected meanwhile.
    let resp = Function::RequestReset
        .handle(
            &app,
            post(
                "/api/User/authreset",
                &[JSON, ("requestToken", &request_key)],
                &json!({"email": email}),
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);

    // The operator verifies the sender: the next retry delivers, once; a
    // further redelivery of the same records sends nothing again.
    ses.create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("verify the sender on moto");
    let result = rekey::delivery::stream::deliver_batch(&outbox, event.clone()).await;
    assert!(result.batch_item_failures.is_empty());
    assert_eq!(mailer.counts(), (1, STREAM_RETRIES + 1), "delivered once");
    let result = rekey::delivery::stream::deliver_batch(&outbox, event).await;
    assert!(result.batch_item_failures.is_empty());
    assert_eq!(mailer.counts(), (1, STREAM_RETRIES + 1), "not sent twice");
    // What SES holds for the address (read once: moto's state dump is slow
    // and holds moto): the one reset mail.
    let sent = sent_mail(&email).await;
    assert_eq!(sent.len(), 1, "SES sent exactly one mail");
    let (text, subject) = text_and_subject(&sent[0]);
    assert_eq!(subject, "Acme: reset your password");
    assert!(!store.mail_pending(&queued[0]).await.unwrap());

    // The link in the late mail still works.
    let token = token_from_link_text(&text);
    let resp = Function::ValidateToken
        .handle(
            &app,
            apigw_request(
                "GET",
                "/auth/reset/validate",
                &[("token", &token)],
                &[],
                None,
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
}
