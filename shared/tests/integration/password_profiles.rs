//! The password profiles through every contract's operation: the bundled
//! blocklist refuses its passwords everywhere (also folded and in l33t),
//! reset-account applies seed 004's rule and the others NIST's; and the
//! Pwned Passwords range check against a local server that speaks the
//! range protocol from data made here.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use lambda_http::RequestExt;
use rekey::domain::{ClientInfo, Scope, User};
use rekey::password::{PolicyRule, Profile};
use rekey::reset::{AddressRequest, CodeDelivery, PasswordProof};
use rekey::routes::Function;
use rekey::{App, ResetError};
use serde_json::json;

use crate::support::range_api::*;
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
            let raw = add_key(&**reset.store(), &[Scope::UsersWrite, Scope::UsersAdmin]).await;
            let key = reset
                .keys
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
            let current = reset.store().user(&user.id).await.unwrap().unwrap();
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
    // Nothing listening at all (a port just freed): the same.
    let closed = closed_range_server();
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

/// A request to one password function's route, as API Gateway delivers it,
/// with a fresh credential (link, code, signed link) for `user`.
async fn password_request(
    app: &TestApp,
    name: &str,
    user: &User,
    password: &str,
) -> (Function, lambda_http::Request) {
    const JSON: (&str, &str) = ("content-type", "application/json");
    let reset = &app.app.reset;
    let keys = &app.app.keys;
    let store = app.app.store();
    let client = ClientInfo::default();
    let id = user.id.as_str();
    let code = || async {
        // Returning the code in the answer takes users:admin.
        let raw = add_key(&**store, &[Scope::UsersWrite, Scope::UsersAdmin]).await;
        let key = keys.authorize(Some(&raw), Scope::UsersWrite).await.unwrap();
        let (_, code) = reset
            .issue_code(&user.id, CodeDelivery::ReturnCode, &key, &client)
            .await
            .unwrap();
        (format!("Bearer {raw}"), code.unwrap())
    };
    match name {
        "unleash validate-password" => (
            Function::ValidatePassword,
            post(
                "/auth/reset/validate-password",
                &[JSON],
                &json!({"password": password}),
            ),
        ),
        "unleash reset-password" => {
            deliver_now(
                reset,
                AddressRequest::ResetLink { entry: None },
                &user.email,
                &client,
            )
            .await;
            let token = link(app).await;
            (
                Function::ResetPassword,
                post(
                    "/auth/reset/password",
                    &[JSON],
                    &json!({"token": token, "password": password}),
                ),
            )
        }
        "zitadel rest SetPassword" => {
            let (bearer, code) = code().await;
            (
                Function::SetPassword,
                post(
                    &format!("/v2/users/{id}/password"),
                    &[JSON, ("authorization", bearer.as_str())],
                    &json!({"newPassword": {"password": password}, "verificationCode": code}),
                )
                .with_path_parameters(HashMap::from([("userId".to_string(), id.to_string())])),
            )
        }
        "zitadel connect SetPassword" => {
            let (bearer, code) = code().await;
            (
                Function::SetPassword,
                post(
                    "/zitadel.user.v2.UserService/SetPassword",
                    &[JSON, ("authorization", bearer.as_str())],
                    &json!({"userId": id, "newPassword": {"password": password}, "verificationCode": code}),
                ),
            )
        }
        "django reset-password" => {
            let ts = now();
            let current = store.user(&user.id).await.unwrap().unwrap();
            let signature = reset
                .issue_signed_link(&current, ts, &client)
                .await
                .unwrap();
            (
                Function::ResetPasswordSigned,
                post(
                    "/api/v1/iam/accounts/reset-password/",
                    &[JSON],
                    &json!({"user_id": id, "timestamp": ts, "signature": signature, "password": password}),
                ),
            )
        }
        "oauth reset-account" => {
            deliver_now(reset, AddressRequest::Recovery, &user.email, &client).await;
            let code = link(app).await;
            (
                Function::ResetAccount,
                post(
                    "/api/v2/account/reset/",
                    &[JSON],
                    &json!({"validation_code": code, "password": password}),
                ),
            )
        }
        other => panic!("unknown call {other}"),
    }
}

/// With `REKEY_PWNED_PASSWORDS_ON_ERROR=refuse`, a range API that answers
/// nonsense makes every password function answer its dialect's 503; the
/// link, code or signed link is not consumed: the same request succeeds
/// once the service is back.
#[tokio::test]
async fn a_failed_range_check_is_the_contracts_503_and_consumes_nothing() {
    let server = range_server(vec![], Duration::ZERO, true).await;
    let app = pwned_app(&server, "refuse").await;
    let user = add_user(&*app.store, &app.config, &unique_email()).await;
    for (i, name) in [
        "unleash validate-password",
        "unleash reset-password",
        "zitadel rest SetPassword",
        "zitadel connect SetPassword",
        "django reset-password",
        "oauth reset-account",
    ]
    .into_iter()
    .enumerate()
    {
        let password = format!("Orbital-Mechanics-{i}-Hampton");
        server.broken.store(true, Ordering::SeqCst);
        let (function, req) = password_request(&app, name, &user, &password).await;
        let again = retry_of(&req);
        let asked = server.seen.lock().unwrap().len();
        let resp = app.handle(function, req).await;
        crate::faults::assert_unavailable(name, function, &resp);
        assert_eq!(
            server.seen.lock().unwrap().len(),
            asked + 1,
            "{name}: the range API was asked once"
        );
        server.broken.store(false, Ordering::SeqCst);
        let resp = app.handle(function, again).await;
        assert_eq!(
            resp.status(),
            200,
            "{name}: the credential was kept: {}",
            String::from_utf8_lossy(resp.body())
        );
    }
}

/// The same request again (a client's retry).
fn retry_of(req: &lambda_http::Request) -> lambda_http::Request {
    let mut again = lambda_http::Request::new(req.body().clone());
    *again.method_mut() = req.method().clone();
    *again.uri_mut() = req.uri().clone();
    *again.headers_mut() = req.headers().clone();
    *again.extensions_mut() = req.extensions().clone();
    again
}
