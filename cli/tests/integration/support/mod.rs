//! Helpers for the end-to-end tests of `rekeyctl serve`: a server process
//! per test on its own data dir, its console and log captured, HTTP calls
//! with every part of the answer kept, and the .eml outbox.

#![allow(dead_code)]

#[path = "../../../../shared/tests/integration/support/imported_hashes.rs"]
mod imported_hashes;

pub use imported_hashes::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};
use rekey::domain::{EmailAddress, User};
use rekey::store::embedded::EmbeddedStore;
use rekey::store::{AccountStore, IntakeStore, OutboxStore};
use serde_json::Value;
use tempfile::TempDir;

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);

pub const BIN: &str = env!("CARGO_BIN_EXE_rekeyctl");

/// The machine the tests of this binary share. A test that measures time
/// holds it alone; every other test holds it shared, so no measurement runs
/// beside another test's work.
static MACHINE: std::sync::LazyLock<tokio::sync::RwLock<()>> =
    std::sync::LazyLock::new(|| tokio::sync::RwLock::new(()));

/// Held for a whole test that measures time.
pub async fn alone_on_the_machine() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

/// Held for a whole test that measures nothing.
pub async fn sharing_the_machine() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}

/// `sharing_the_machine` for a test without a runtime.
pub fn sharing_the_machine_blocking() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.blocking_read()
}

/// `rekeyctl --data-dir DIR ...` with an environment that cannot leak in
/// from the developer's shell (REKEY_*, AWS_*).
fn command(data_dir: &Path, rust_log: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data_dir);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("REKEY_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", rust_log);
    cmd
}

/// Runs a one-shot rekeyctl command; returns its stdout, trimmed.
pub fn rekeyctl(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = command(data_dir, "info")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start rekeyctl");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes())
            .expect("cannot write to rekeyctl's stdin");
    }
    let out = child.wait_with_output().expect("rekeyctl did not finish");
    assert!(
        out.status.success(),
        "rekeyctl {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("stdout is UTF-8")
        .trim()
        .to_string()
}

/// A password that passes the default policy, different on every call.
pub fn strong_password(tag: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{tag}-{}-7q!", &random[..14])
}

/// A well-formed secret (prefix + 32 bytes base64url) that nobody issued.
pub fn unknown_secret(prefix: &str) -> String {
    format!("{prefix}{}", "Q".repeat(43))
}

/// The account each test server has besides the demo account.
pub struct Account {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

/// A `rekeyctl serve` process on its own data dir; killed on drop.
pub struct Server {
    child: Mutex<Child>,
    pub base: String,
    /// A key with scope reset:request, created before the server started.
    pub api_key: String,
    pub user: Account,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    pub http: reqwest::Client,
    // Dropped after the process is killed (fields drop after `Drop::drop`).
    data_dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn capture(stream: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => into
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&String::from_utf8_lossy(&line)),
            }
        }
    });
}

impl Server {
    /// A fresh data dir with an API key (reset:request) and one account,
    /// then `rekeyctl serve --addr 127.0.0.1:0` with `RUST_LOG=rust_log`,
    /// once it listens.
    pub async fn start(rust_log: &str) -> Self {
        Self::start_with(rust_log, &[]).await
    }

    /// As `start`, with extra environment for the server (e.g. limits).
    pub async fn start_with(rust_log: &str, env: &[(&str, &str)]) -> Self {
        let data_dir = tempfile::tempdir().expect("cannot create a temp dir");
        let dir = data_dir.path();
        let api_key = rekeyctl(
            dir,
            &[
                "key",
                "create",
                "--scope",
                "reset:request",
                "--name",
                "test",
            ],
            None,
        );
        assert!(
            api_key.starts_with("rkk_"),
            "key create printed {api_key:?}"
        );
        let password = strong_password("Old");
        let email = "dana.reset@example.com".to_string();
        let name = "Dana".to_string();
        let id = rekeyctl(
            dir,
            &[
                "user",
                "add",
                "--email",
                &email,
                "--name",
                &name,
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        );
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "user add printed {id:?}"
        );

        let mut child = command(dir, rust_log)
            .envs(env.iter().copied())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start rekeyctl serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        capture(
            child.stdout.take().expect("stdout is piped"),
            stdout.clone(),
        );
        capture(
            child.stderr.take().expect("stderr is piped"),
            stderr.clone(),
        );
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(DEADLINE)
            .build()
            .expect("cannot build an HTTP client");
        let mut server = Server {
            child: Mutex::new(child),
            base: String::new(),
            api_key,
            user: Account {
                id,
                email,
                name,
                password,
            },
            stdout,
            stderr,
            http,
            data_dir,
        };
        let base = server
            .wait_for("the `rekey listening on` line on stdout", |s| {
                s.stdout()
                    .lines()
                    .find_map(|l| l.strip_prefix("rekey listening on "))
                    .map(|url| url.trim().to_string())
            })
            .await;
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "listening on {base:?}"
        );
        server.base = base;
        server
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Polls `check` until it yields a value; fails after `DEADLINE`, or at
    /// once if the server has exited.
    pub async fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Self) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            if let Ok(Some(status)) = self
                .child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .try_wait()
            {
                // Let the capture threads read what is left.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "rekeyctl serve exited ({status}) while waiting for {what}\n--- stdout\n{}\n--- stderr\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "timed out after {DEADLINE:?} waiting for {what}\n--- stdout\n{}\n--- stderr\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A POST with exactly this body and content type (none if `None`).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Reply {
        let mut req = self.http.post(self.url(path)).body(body.into());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::read(
            req.send()
                .await
                .unwrap_or_else(|e| panic!("POST {path} failed: {e}")),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        self.post_raw(path, Some("application/json"), headers, body.to_string())
            .await
    }

    /// POST /api/User/authreset with the server's API key.
    pub async fn request_reset(&self, body: &Value) -> Reply {
        self.post_json(
            "/api/User/authreset",
            &[("requestToken", &self.api_key)],
            body,
        )
        .await
    }

    pub async fn validate(&self, token: &str) -> Reply {
        let mut url = url::Url::parse(&self.url("/auth/reset/validate")).expect("base URL");
        url.query_pairs_mut().append_pair("token", token);
        let res = self
            .http
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET validate failed: {e}"));
        Reply::read(res).await
    }

    pub async fn reset(&self, token: &str, password: &str) -> Reply {
        self.post_json(
            "/auth/reset/password",
            &[],
            &serde_json::json!({"token": token, "password": password}),
        )
        .await
    }

    pub fn outbox(&self) -> PathBuf {
        self.data_dir().join("outbox")
    }

    /// The delivered mail files, by name (oldest first).
    pub fn mails(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = match std::fs::read_dir(self.outbox()) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .filter(|p| {
                    !p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("cannot list {}: {e}", self.outbox().display()),
        };
        found.sort();
        found
    }

    /// Waits until at least `n` mails were delivered; returns them all.
    pub async fn wait_for_mails(&self, n: usize) -> Vec<PathBuf> {
        self.wait_for(&format!("{n} .eml file(s) in the outbox"), |s| {
            let found = s.mails();
            (found.len() >= n).then_some(found)
        })
        .await
    }

    /// The embedded store of the running server (SQLite in WAL mode).
    pub fn store(&self) -> EmbeddedStore {
        EmbeddedStore::open(&self.data_dir().join("rekey.db"))
            .expect("cannot open the embedded store")
    }

    pub async fn stored_user(&self) -> User {
        let email = EmailAddress::parse(&self.user.email).expect("valid address");
        self.store()
            .user_by_email(&email)
            .await
            .expect("store readable")
            .expect("the test account exists")
    }

    /// Waits until the store holds no undelivered address request or mail.
    pub async fn wait_for_empty_outbox_queue(&self) {
        let store = self.store();
        let start = Instant::now();
        loop {
            let pending = store.pending_mail(10).await.expect("store readable").len()
                + store
                    .pending_intake(10)
                    .await
                    .expect("store readable")
                    .len();
            if pending == 0 {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{} request(s) or mail(s) still queued after {DEADLINE:?}\n--- stderr\n{}",
                pending,
                self.stderr()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Everything an HTTP answer carried.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    async fn read(res: reqwest::Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res
            .bytes()
            .await
            .expect("cannot read the response body")
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?} (status {})",
                self.text(),
                self.status
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, and that the answer is JSON.
    pub fn expect(&self, status: u16, context: &str) -> Value {
        assert!(
            self.status < 500,
            "{context}: a 5xx ({}): {}",
            self.status,
            self.text()
        );
        assert_eq!(
            self.status,
            status,
            "{context}: unexpected status; body {}",
            self.text()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{context}: content type"
        );
        self.json()
    }

    /// Asserts a Payabli error: `{"isSuccess": false, "responseText": "..."}`.
    pub fn expect_payabli_error(&self, status: u16, context: &str) -> String {
        let body = self.expect(status, context);
        let obj = body
            .as_object()
            .unwrap_or_else(|| panic!("{context}: not an object: {body}"));
        assert_eq!(
            obj.len(),
            2,
            "{context}: exactly isSuccess and responseText: {body}"
        );
        assert_eq!(
            obj.get("isSuccess"),
            Some(&Value::Bool(false)),
            "{context}: {body}"
        );
        let text = obj
            .get("responseText")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{context}: responseText is not a string: {body}"));
        assert!(!text.is_empty(), "{context}: empty responseText");
        text.to_string()
    }

    /// Asserts an Unleash error `{id, name, message, details: [{message}]}`
    /// named `name`; returns its details.
    pub fn expect_unleash_error(&self, status: u16, name: &str, context: &str) -> Vec<Value> {
        let body = self.expect(status, context);
        let id = body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{context}: no id: {body}"));
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "{context}: id is not a UUID: {body}"
        );
        assert_eq!(body["name"], name, "{context}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{context}: no message: {body}"
        );
        let details = body["details"]
            .as_array()
            .unwrap_or_else(|| panic!("{context}: details is not an array: {body}"))
            .clone();
        assert!(!details.is_empty(), "{context}: no details: {body}");
        for d in &details {
            assert!(
                d["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{context}: a detail without a message: {body}"
            );
        }
        details
    }
}

/// What a test needs from a delivered .eml file.
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// The text/plain part, decoded.
    pub text: String,
}

impl Mail {
    pub fn read(path: &Path) -> Mail {
        let raw =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let message = MessageParser::default()
            .parse(&raw[..])
            .unwrap_or_else(|| panic!("{} is not a mail message", path.display()));
        let to = message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_else(|| panic!("{} has no To address", path.display()))
            .to_string();
        let subject = message
            .subject()
            .unwrap_or_else(|| panic!("{} has no subject", path.display()))
            .to_string();
        let text = message
            .text_bodies()
            .find(|part| {
                part.content_type().is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case("text")
                        && ct
                            .subtype()
                            .is_some_and(|s| s.eq_ignore_ascii_case("plain"))
                })
            })
            .and_then(|part| part.text_contents())
            .unwrap_or_else(|| panic!("{} has no text/plain part", path.display()))
            .to_string();
        Mail { to, subject, text }
    }

    /// The `token` query parameter of the one link in the text that has one.
    pub fn link_token(&self) -> String {
        let tokens: Vec<String> = self
            .text
            .split_whitespace()
            .filter_map(|word| url::Url::parse(word).ok())
            .filter_map(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v.into_owned())
            })
            .collect();
        assert_eq!(
            tokens.len(),
            1,
            "expected one link with token= in:\n{}",
            self.text
        );
        tokens.into_iter().next().unwrap()
    }
}
