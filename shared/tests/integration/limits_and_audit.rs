//! Abuse limits (per source address, per email, per user's code guesses),
//! each in its contract's dialect, and the audit trail and "password
//! changed" mail every contract's reset leaves.

use rekey::reset::AddressRequest;
use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::domain::{ClientInfo, EmailAddress, Scope};
use rekey::mail::{MailJob, MailMessage};
use rekey::reset::{CodeDelivery, PasswordProof};
use rekey::routes::Function;
use serde_json::json;

const JSON: (&str, &str) = ("content-type", "application/json");

/// The production defaults: the test helpers' config raises them.
fn strict() -> rekey::Config {
    config_with(&[
        ("REKEY_LIMIT_EMAIL_PER_MINUTE", "1"),
        ("REKEY_LIMIT_EMAIL_PER_HOUR", "5"),
        ("REKEY_LIMIT_SOURCE_PER_MINUTE", "60"),
        ("REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR", "10"),
    ])
}

/// Sends `request` 200 times; returns the first 429 and how many came before it.
async fn until_429(
    app: &App,
    function: Function,
    request: impl Fn() -> lambda_http::Request,
) -> (usize, lambda_http::Response<lambda_http::Body>) {
    for sent in 0..200 {
        let resp = function.handle(app, request()).await;
        match resp.status().as_u16() {
            429 => return (sent, resp),
            s => assert!(s < 500, "{} answered {s}", function.name()),
        }
    }
    panic!(
        "{}: no 429 in 200 requests from one address",
        function.name()
    );
}

fn retry_after(resp: &lambda_http::Response<lambda_http::Body>) -> u64 {
    let secs: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    secs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_source_address_meets_429_in_each_dialect() {
    let e = embedded_store();
    let app = App::new(&strict(), Arc::new(e.store.clone())).with_signer(crate::support::signer());

    let (sent, resp) = until_429(&app, Function::ValidatePassword, || {
        post(
            "/auth/reset/validate-password",
            &[JSON],
            &json!({"password": NEW_PASSWORD}),
        )
    })
    .await;
    assert!(sent >= 60 - 1, "the limit is 60 a minute; 429 after {sent}");
    retry_after(&resp);
    let body = response_json(&resp);
    assert_eq!(body["name"], "TooManyRequestsError");
    assert!(body["details"][0]["message"].is_string());

    let (_, resp) = until_429(&app, Function::SendResetLink, || {
        post(
            "/api/v1/iam/accounts/send-reset-password-link/",
            &[JSON],
            &json!({"login": unique_email()}),
        )
    })
    .await;
    retry_after(&resp);
    assert_eq!(
        response_json(&resp),
        json!({"detail": "Request was throttled."})
    );

    let (_, resp) = until_429(&app, Function::RecoverAccount, || {
        post(
            "/api/v2/account/recover/",
            &[JSON],
            &json!({"email": unique_email()}),
        )
    })
    .await;
    retry_after(&resp);
    assert_eq!(response_json(&resp)["error"], "temporarily_unavailable");

    // Another address is not limited.
    let mut other = post(
        "/auth/reset/validate-password",
        &[JSON],
        &json!({"password": NEW_PASSWORD}),
    );
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
        lambda_http::RequestExt::request_context_ref(&other).cloned()
    {
        let mut ctx = ctx;
        ctx.http.source_ip = Some("203.0.113.200".into());
        other = lambda_http::RequestExt::with_request_context(
            other,
            lambda_http::request::RequestContext::ApiGatewayV2(ctx),
        );
    }
    assert_eq!(
        Function::ValidatePassword
            .handle(&app, other)
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_one_address_is_capped_and_the_answer_never_changes() {
    let config = strict();
    let e = embedded_store();
    let app = App::new(&config, Arc::new(e.store.clone())).with_signer(crate::support::signer());
    let email = unique_email();
    add_user(&**app.store(), &config, &email).await;
    let key = add_key(&**app.store(), &[Scope::ResetRequest]).await;
    let mut bodies = std::collections::HashSet::new();
    for _ in 0..10 {
        let resp = Function::RequestReset
            .handle(
                &app,
                post(
                    "/api/User/authreset",
                    &[JSON, ("requestToken", &key)],
                    &json!({"email": email}),
                ),
            )
            .await;
        assert_eq!(resp.status(), 200);
        bodies.insert(resp.body().to_vec());
    }
    assert_eq!(bodies.len(), 1, "limited or not, the same answer");
    // 1 a minute: one mail, or two if the minute turned during the loop.
    app.reset.drain_intake(100).await.unwrap();
    let mails = app.store().pending_mail(100).await.unwrap().len();
    assert!((1..=2).contains(&mails), "{mails} mails for 10 requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_guesses_are_capped_per_user_across_codes() {
    let config = strict();
    let e = embedded_store();
    let app = App::new(&config, Arc::new(e.store.clone())).with_signer(crate::support::signer());
    let user = add_user(&**app.store(), &config, &unique_email()).await;
    let raw_key = add_key(&**app.store(), &[Scope::UsersWrite]).await;
    let key = app
        .keys
        .authorize(Some(&raw_key), Scope::UsersWrite)
        .await
        .unwrap();
    let client = ClientInfo::default();
    // Five wrong guesses on each of two codes: ten, the hourly cap.
    let mut last_code = String::new();
    for _ in 0..2 {
        let (_, code) = app
            .reset
            .issue_code(
                &user.id,
                CodeDelivery::ReturnCode,
                &api_key(&[Scope::UsersAdmin]).1,
                &client,
            )
            .await
            .unwrap();
        last_code = code.unwrap();
        for _ in 0..5 {
            let r = app
                .reset
                .set_password_with_proof(
                    &user.id,
                    NEW_PASSWORD,
                    PasswordProof::Code("ZZZZZZ".into()),
                    &key,
                    &client,
                )
                .await;
            assert!(matches!(r, Err(rekey::ResetError::CodeMismatch)), "{r:?}");
        }
    }
    // A third code buys no more guesses, not even a right one.
    let (_, code) = app
        .reset
        .issue_code(
            &user.id,
            CodeDelivery::ReturnCode,
            &api_key(&[Scope::UsersAdmin]).1,
            &client,
        )
        .await
        .unwrap();
    assert_ne!(code.as_deref(), Some(last_code.as_str()));
    let r = app
        .reset
        .set_password_with_proof(
            &user.id,
            NEW_PASSWORD,
            PasswordProof::Code(code.unwrap()),
            &key,
            &client,
        )
        .await;
    assert!(
        matches!(r, Err(rekey::ResetError::RateLimited { .. })),
        "{r:?}"
    );
    // Each wrong guess is in the audit trail.
    let events = app.store().audit_events(&user.id, 50).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.outcome == "code_mismatch")
            .count(),
        10
    );
}

/// The reset through each contract leaves an audit event and queues the
/// "password changed" mail, with the request's address and no secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contract_audits_and_notifies() {
    let config = config();
    let e = embedded_store();
    let app = App::new(&config, Arc::new(e.store.clone())).with_signer(crate::support::signer());
    // users:admin: the Zitadel round asks returnCode.
    let key = add_key(&**app.store(), &[Scope::UsersWrite, Scope::UsersAdmin]).await;
    let client = ClientInfo {
        source_ip: Some("198.51.100.7".into()),
        user_agent: Some("rekey-tests/1.0".into()),
        ..Default::default()
    };
    for (action, contract) in [
        ("password_reset_link", "unleash"),
        ("password_reset_code", "zitadel"),
        ("password_reset_signed_link", "django"),
        ("account_recovery", "account"),
    ] {
        let email = unique_email();
        let user = add_user(&**app.store(), &config, &email).await;
        match contract {
            "unleash" | "account" => {
                let request = if contract == "unleash" {
                    AddressRequest::ResetLink { entry: None }
                } else {
                    AddressRequest::Recovery
                };
                deliver_now(&app.reset, request, &user.email, &client).await;
                let item = app.store().pending_mail(100).await.unwrap().pop().unwrap();
                app.store().mail_delivered(&item.id).await.unwrap();
                let MailMessage::ResetLink { link, .. } =
                    MailJob::open(&config.keys, &item).unwrap().message
                else {
                    panic!()
                };
                let token = token_from_link_text(&link.replace("validation_code=", "token="));
                let path = if contract == "unleash" {
                    "/auth/reset/password"
                } else {
                    "/api/v2/account/reset/"
                };
                let body = if contract == "unleash" {
                    json!({"token": token, "password": NEW_PASSWORD})
                } else {
                    json!({"validation_code": token, "password": NEW_PASSWORD})
                };
                let function = if contract == "unleash" {
                    Function::ResetPassword
                } else {
                    Function::ResetAccount
                };
                assert_eq!(
                    function
                        .handle(&app, post(path, &[JSON], &body))
                        .await
                        .status(),
                    200
                );
            }
            "zitadel" => {
                let path = format!("/v2/users/{}/password_reset", user.id);
                let auth = format!("Bearer {key}");
                let mut req = post(
                    &path,
                    &[JSON, ("authorization", &auth)],
                    &json!({"returnCode": {}}),
                );
                req = lambda_http::RequestExt::with_path_parameters(
                    req,
                    std::collections::HashMap::from([("userId".to_string(), user.id.to_string())]),
                );
                let resp = Function::RequestUserReset.handle(&app, req).await;
                let code = response_json(&resp)["verificationCode"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let path = format!("/v2/users/{}/password", user.id);
                let body =
                    json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
                let req = lambda_http::RequestExt::with_path_parameters(
                    post(&path, &[JSON, ("authorization", &auth)], &body),
                    std::collections::HashMap::from([("userId".to_string(), user.id.to_string())]),
                );
                assert_eq!(Function::SetPassword.handle(&app, req).await.status(), 200);
            }
            _ => {
                deliver_now(
                    &app.reset,
                    AddressRequest::SignedLink,
                    &EmailAddress::parse(&email).unwrap(),
                    &client,
                )
                .await;
                let item = app.store().pending_mail(100).await.unwrap().pop().unwrap();
                app.store().mail_delivered(&item.id).await.unwrap();
                let MailMessage::ResetLink { link, .. } =
                    MailJob::open(&config.keys, &item).unwrap().message
                else {
                    panic!()
                };
                let q: std::collections::HashMap<String, String> = url::Url::parse(&link)
                    .unwrap()
                    .query_pairs()
                    .into_owned()
                    .collect();
                let body = json!({"user_id": q["user_id"], "timestamp": q["timestamp"], "signature": q["signature"], "password": NEW_PASSWORD});
                let resp = Function::ResetPasswordSigned
                    .handle(
                        &app,
                        post("/api/v1/iam/accounts/reset-password/", &[JSON], &body),
                    )
                    .await;
                assert_eq!(resp.status(), 200);
            }
        }
        let events = app.store().audit_events(&user.id, 10).await.unwrap();
        let event = events
            .iter()
            .find(|e| e.outcome == "success")
            .expect("a success event");
        assert_eq!(event.action, action, "{contract}");
        assert_eq!(
            event.source_ip.as_deref(),
            Some("198.51.100.7"),
            "{contract}"
        );
        assert_eq!(
            event.user_agent.as_deref(),
            Some("rekey-tests/1.0"),
            "{contract}"
        );
        assert!(
            event.expires_at > event.at + secs(300) * 86400,
            "kept about a year"
        );

        let notices: Vec<_> = app
            .store()
            .pending_mail(100)
            .await
            .unwrap()
            .into_iter()
            .map(|i| MailJob::open(&config.keys, &i).unwrap())
            .filter(|j| {
                j.user_id == user.id && matches!(j.message, MailMessage::PasswordChanged { .. })
            })
            .collect();
        assert_eq!(notices.len(), 1, "{contract}: one password-changed mail");
        let mail = notices[0].render("Acme");
        assert!(
            mail.text.contains("198.51.100.7"),
            "{contract}: the request's origin"
        );
        assert!(
            mail.text.contains("If it was not you"),
            "{contract}: what to do"
        );
        assert!(!mail.text.contains(NEW_PASSWORD) && !mail.html.contains(NEW_PASSWORD));
    }
}
