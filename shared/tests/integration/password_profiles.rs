//! The password profiles through every contract's operation: the bundled
//! blocklist refuses its passwords everywhere (also folded and in l33t),
//! reset-account applies seed 004's rule and the others NIST's; and the
//! Pwned Passwords range check against a local server that speaks the
//! range protocol from data made here.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rekey::domain::{ClientInfo, Scope, User, now};
use rekey::password::{PolicyRule, Profile};
use rekey::reset::{AddressRequest, CodeDelivery, PasswordProof};
use rekey::{App, ResetError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

#[derive(Clone, Copy, Debug)]
enum Contract {
    Unleash,
    Zitadel,
    Django,
    AccountRecovery,
}

const CONTRACTS: [Contract; 4] = [
    Contract::Unleash,
    Contract::Zitadel,
    Contract::Django,
    Contract::AccountRecovery,
];

async fn link(app: &TestApp) -> String {
    let link = app.take_links().await.pop().expect("a reset mail");
    url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token" || k == "validation_code")
        .map(|(_, v)| v.into_owned())
        .expect("a token in the link")
}

/// Sets `password` through `contract`'s operation, with a fresh credential.
async fn set_through(
    app: &TestApp,
    contract: Contract,
    user: &User,
    password: &str,
) -> Result<(), ResetError> {
    let client = ClientInfo::default();
    let reset: &App = &app.app;
    match contract {
        Contract::Unleash => {
            deliver_now(
                &reset.reset,
                AddressRequest::ResetLink { entry: None },
                &user.email,
                &client,
            )
            .await;
            let token = link(app).await;
            reset
                .reset
                .reset_with_token(&token, password, &client)
                .await
                .map(|_| ())
        }
        Contract::Zitadel => {
            let raw = add_key(
                &**reset.reset.store(),
                &[Scope::UsersWrite, Scope::UsersAdmin],
            )
            .await;
            let key = reset
                .reset
                .authorize(Some(&raw), Scope::UsersWrite)
                .await
                .unwrap();
            let (_, code) = reset
                .reset
                .issue_code(&user.id, CodeDelivery::ReturnCode, &key, &client)
                .await
                .unwrap();
            reset
                .reset
                .set_password_with_proof(
                    &user.id,
                    password,
                    PasswordProof::Code(code.unwrap()),
                    &key,
                    &client,
                )
                .await
                .map(|_| ())
        }
        Contract::Django => {
            let ts = now();
            let current = reset.reset.store().user(&user.id).await.unwrap().unwrap();
            let sig = reset
                .reset
                .issue_signed_link(&current, ts, &client)
                .await
                .unwrap();
            reset
                .reset
                .reset_with_signature(user.id.as_str(), ts, &sig, password, &client)
                .await
                .map(|_| ())
        }
        Contract::AccountRecovery => {
            deliver_now(&reset.reset, AddressRequest::Recovery, &user.email, &client).await;
            let code = link(app).await;
            reset
                .reset
                .reset_and_log_in(&code, password, &client, "rekey")
                .await
                .map(|_| ())
        }
    }
}

fn failed_rules(result: Result<(), ResetError>) -> Vec<PolicyRule> {
    match result {
        Err(ResetError::WeakPassword(v)) => v.into_iter().map(|v| v.rule).collect(),
        other => panic!("expected a weak-password refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn blocklist_refuses_listed_passwords_in_every_contract() {
    let config = config();
    let mut app = TestApp::embedded(config.clone()).await;
    app.app = app.app.with_signer(signer());
    let user = add_user(&*app.store, &config, &unique_email()).await;
    let listed = include_str!("../../data/common-passwords.txt");
    // Entries of the list as they are, and folded or in l33t: NFKC's
    // full-width forms, upper case, substitutions.
    let samples: Vec<String> = listed
        .lines()
        .step_by(9973)
        .map(str::to_string)
        .chain(
            [
                "ＢＡＳＥＢＡＬＬ",
                "BaseBall",
                "b@5eb@ll",
                "P@SSW0RD",
                "1l0v3y0u",
            ]
            .map(String::from),
        )
        .collect();
    for contract in CONTRACTS {
        for pw in &samples {
            let rules = failed_rules(set_through(&app, contract, &user, pw).await);
            assert!(
                rules.contains(&PolicyRule::Common),
                "{contract:?} {pw:?}: {rules:?}"
            );
        }
        // A good password goes through, so the refusals above are the list's.
        set_through(&app, contract, &user, "Orbital-Mechanics-62-Hampton")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn each_contract_applies_its_profile() {
    let config = config();
    let mut app = TestApp::embedded(config.clone()).await;
    app.app = app.app.with_signer(signer());
    let user = add_user(&*app.store, &config, &unique_email()).await;
    // 24 lower-case letters and spaces: NIST accepts it; seed 004 wants 3 classes.
    let lower = "quiet orbital hampton sky";
    // 9 characters of 4 classes: seed 004 accepts it; NIST wants 15.
    let short = "Zq8!vKw3x";
    for contract in CONTRACTS {
        let recovery = matches!(contract, Contract::AccountRecovery);
        let lower_result = set_through(&app, contract, &user, lower).await;
        let short_result = set_through(&app, contract, &user, short).await;
        if recovery {
            assert_eq!(
                failed_rules(lower_result),
                [PolicyRule::CharacterClasses],
                "{contract:?}"
            );
            short_result.unwrap();
        } else {
            lower_result.unwrap();
            assert_eq!(
                failed_rules(short_result),
                [PolicyRule::MinLength],
                "{contract:?}"
            );
        }
    }
}

/// A range API on the loopback: answers `/range/{prefix}` from `corpus`
/// (full SHA-1s in hex with counts) with padding lines, after `delay`;
/// records every request line and header block it gets.
struct RangeServer {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn range_server(corpus: Vec<(String, u64)>, delay: Duration, broken: bool) -> RangeServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (corpus, log) = (corpus.clone(), log.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                log.lock().unwrap().push(request.clone());
                tokio::time::sleep(delay).await;
                let prefix = request
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.strip_prefix("/range/"))
                    .unwrap_or("")
                    .to_string();
                let mut body: String = corpus
                    .iter()
                    .filter(|(h, _)| h.starts_with(&prefix))
                    .map(|(h, n)| format!("{}:{n}\r\n", &h[5..]))
                    .collect();
                // Padding, as the service adds it: zero counts.
                body.push_str("0000000000000000000000000000000000A:0\r\n");
                if broken {
                    body = "<html>maintenance</html>".into();
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    RangeServer { url, seen }
}

fn sha1_hex(password: &str) -> String {
    rekey::password::pwned::range_parts(password).0
        + &rekey::password::pwned::range_parts(password).1
}

async fn pwned_app(server: &RangeServer, on_error: &str) -> TestApp {
    let config = config_with(&[
        ("REKEY_PWNED_PASSWORDS", "on"),
        ("REKEY_PWNED_PASSWORDS_URL", server.url.as_str()),
        ("REKEY_PWNED_PASSWORDS_TIMEOUT_MS", "300"),
        ("REKEY_PWNED_PASSWORDS_ON_ERROR", on_error),
    ]);
    TestApp::embedded(config).await
}

#[tokio::test]
async fn pwned_passwords_range_check_sends_only_the_prefix() {
    let breached = "Orbital-Mechanics-62-Breached";
    let server = range_server(vec![(sha1_hex(breached), 17)], Duration::ZERO, false).await;
    let app = pwned_app(&server, "accept").await;
    let check = |pw: &'static str| {
        let app = &app;
        async move {
            app.app
                .reset
                .check_password(pw, None, Profile::Nist)
                .await
                .map(|_| ())
        }
    };
    assert_eq!(
        failed_rules(check(breached).await),
        [PolicyRule::Compromised]
    );
    check("Orbital-Mechanics-62-Hampton").await.unwrap();
    // A password the other rules refuse never reaches the service.
    let before = server.seen.lock().unwrap().len();
    assert!(failed_rules(check("password").await).contains(&PolicyRule::Common));
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), before);
    for (request, pw) in seen.iter().zip([breached, "Orbital-Mechanics-62-Hampton"]) {
        let full = sha1_hex(pw);
        assert!(
            request.starts_with(&format!("GET /range/{} ", &full[..5])),
            "{request}"
        );
        assert!(
            !request.contains(&full[5..]) && !request.contains(pw),
            "more than the prefix left: {request}"
        );
        assert!(
            request.to_ascii_lowercase().contains("add-padding: true"),
            "{request}"
        );
    }
}

#[tokio::test]
async fn pwned_passwords_timeout_and_broken_answers_follow_the_fail_mode() {
    let good = "Orbital-Mechanics-62-Hampton";
    let slow = range_server(vec![], Duration::from_secs(3), false).await;
    let broken = range_server(vec![], Duration::ZERO, true).await;
    for server in [&slow, &broken] {
        let accept = pwned_app(server, "accept").await;
        let started = std::time::Instant::now();
        accept
            .app
            .reset
            .check_password(good, None, Profile::Nist)
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "bounded by the timeout"
        );
        let refuse = pwned_app(server, "refuse").await;
        let result = refuse
            .app
            .reset
            .check_password(good, None, Profile::Nist)
            .await;
        assert!(
            matches!(result, Err(ResetError::Unavailable(_))),
            "{:?}",
            result.err()
        );
    }
    // Nothing listening at all: the same.
    let closed = RangeServer {
        url: "http://127.0.0.1:9".into(),
        seen: Default::default(),
    };
    pwned_app(&closed, "accept")
        .await
        .app
        .reset
        .check_password(good, None, Profile::Nist)
        .await
        .unwrap();
    assert!(matches!(
        pwned_app(&closed, "refuse")
            .await
            .app
            .reset
            .check_password(good, None, Profile::Nist)
            .await,
        Err(ResetError::Unavailable(_))
    ));
}
