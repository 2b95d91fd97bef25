//! django-rest-registration's signed links and the account-recovery
//! contract's recovery with log-in, through their handlers with API Gateway
//! payloads.

use rekey::domain::UnixTime;
use rekey::reset::AddressRequest;
use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::domain::{ClientInfo, EmailAddress};
use rekey::password::{CredentialHasher, Verification};
use rekey::routes::Function;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");

async fn app_with(config: &rekey::Config) -> TestApp {
    TestApp::embedded(config.clone()).await
}

fn query(link: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn signed_reset(app: &App, body: Value) -> (u16, Value) {
    let resp = Function::ResetPasswordSigned
        .handle(
            app,
            post("/api/v1/iam/accounts/reset-password/", &[JSON], &body),
        )
        .await;
    (resp.status().as_u16(), response_json(&resp))
}

fn signed_body(q: &std::collections::HashMap<String, String>, password: &str) -> Value {
    json!({
        "user_id": q["user_id"],
        "timestamp": q["timestamp"].parse::<i64>().unwrap(),
        "signature": q["signature"],
        "password": password,
    })
}

#[tokio::test]
async fn signed_link_flow_and_refusals() {
    let config = config();
    let app = app_with(&config).await;
    let email = unique_email();
    let user = add_user(&**app.store(), &config, &email).await;

    for login in [json!(email), json!(unique_email()), json!("not-an-email")] {
        let resp = Function::SendResetLink
            .handle(
                &app,
                post(
                    "/api/v1/iam/accounts/send-reset-password-link/",
                    &[JSON],
                    &json!({"login": login}),
                ),
            )
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.body().as_ref(), br#"{"detail":"Reset link sent"}"#);
    }
    let link = app.take_link().await;
    assert!(link.starts_with("https://app.example.com/reset-password/?"));
    let q = query(&link);
    assert_eq!(q["user_id"], user.id.as_str());

    // Tampering with any field breaks the signature.
    let mut tampered = signed_body(&q, NEW_PASSWORD);
    tampered["timestamp"] = json!(q["timestamp"].parse::<i64>().unwrap() + 1);
    assert_eq!(
        signed_reset(&app, tampered).await,
        (400, json!({"detail": "Invalid signature"}))
    );
    let mut tampered = signed_body(&q, NEW_PASSWORD);
    tampered["user_id"] = json!(
        add_user(&**app.store(), &config, &unique_email())
            .await
            .id
            .as_str()
    );
    assert_eq!(
        signed_reset(&app, tampered).await,
        (400, json!({"detail": "Invalid signature"}))
    );
    let mut tampered = signed_body(&q, NEW_PASSWORD);
    // Another first character, whatever the (random) first one is.
    let first = if q["signature"].starts_with('A') {
        'B'
    } else {
        'A'
    };
    tampered["signature"] = json!(format!("{first}{}", &q["signature"][1..]));
    assert_eq!(
        signed_reset(&app, tampered).await,
        (400, json!({"detail": "Invalid signature"}))
    );

    // Per-field errors, all at once; confirmation must match.
    let (status, body) = signed_reset(&app, json!({"password": NEW_PASSWORD})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "user_id": ["This field is required."],
            "timestamp": ["This field is required."],
            "signature": ["This field is required."],
        })
    );
    let (status, body) = signed_reset(
        &app,
        json!({"user_id": 5, "timestamp": "soon", "signature": "", "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["user_id"], json!(["Not a valid string."]));
    assert_eq!(body["timestamp"], json!(["A valid integer is required."]));
    assert_eq!(body["signature"], json!(["This field may not be blank."]));
    let mut mismatch = signed_body(&q, NEW_PASSWORD);
    mismatch["password_confirm"] = json!("something else");
    assert_eq!(
        signed_reset(&app, mismatch).await,
        (400, json!({"password_confirm": ["Passwords don't match"]}))
    );
    let (status, body) = signed_reset(&app, signed_body(&q, "password")).await;
    assert_eq!(status, 400);
    assert!(body["password"].as_array().unwrap().len() >= 2, "{body}");

    // The real link works, once; a numeric-string timestamp is accepted.
    let mut good = signed_body(&q, NEW_PASSWORD);
    good["timestamp"] = json!(q["timestamp"]);
    good["password_confirm"] = json!(NEW_PASSWORD);
    assert_eq!(
        signed_reset(&app, good.clone()).await,
        (200, json!({"detail": "Reset password successful"}))
    );
    let stored = app.store().user(&user.id).await.unwrap().unwrap();
    let hasher = CredentialHasher::new(config.hash_params);
    assert!(matches!(
        hasher.verify(NEW_PASSWORD, stored.password_hash.as_ref().unwrap()),
        Verification::Match { .. }
    ));
    good["password"] = json!("Another-Fresh-77-Horse");
    good["password_confirm"] = json!("Another-Fresh-77-Horse");
    assert_eq!(
        signed_reset(&app, good).await,
        (400, json!({"detail": "Invalid signature"}))
    );
}

#[tokio::test]
async fn signed_links_expire_refuse_the_future_and_survive_rotation() {
    let old_secret = rekey::crypto::ServiceSecret::generate().1;
    let before = config_with(&[("REKEY_SECRET", &old_secret)]);
    let app_before = app_with(&before).await;
    let user = add_user(&**app_before.store(), &before, &unique_email()).await;
    let body = async |app: &App, ts: i64| {
        let signature = app
            .reset
            .issue_signed_link(&user, UnixTime::from_secs(ts), &ClientInfo::default())
            .await
            .unwrap();
        json!({"user_id": user.id.as_str(), "timestamp": ts, "signature": signature, "password": NEW_PASSWORD})
    };
    let day = 24 * 3600;
    assert_eq!(
        signed_reset(&app_before, body(&app_before, now_secs() - day - 10).await).await,
        (400, json!({"detail": "Signature expired"}))
    );
    assert_eq!(
        signed_reset(&app_before, body(&app_before, now_secs() + 600).await).await,
        (400, json!({"detail": "Invalid signature"}))
    );

    // Signed by another deployment's secret: refused.
    let stranger = app_with(&config()).await;
    assert_eq!(
        signed_reset(&app_before, body(&stranger, now_secs()).await).await,
        (400, json!({"detail": "Invalid signature"}))
    );

    // Rotation: a link signed with the previous secret still works.
    let link_body = body(&app_before, now_secs() - 60).await;
    let new_secret = rekey::crypto::ServiceSecret::generate().1;
    let after = config_with(&[
        ("REKEY_SECRET", &new_secret),
        ("REKEY_SECRET_PREVIOUS", &old_secret),
    ]);
    let app_after =
        App::new(&after, app_before.store.clone()).with_signer(crate::support::signer());
    assert_eq!(
        signed_reset(&app_after, link_body).await,
        (200, json!({"detail": "Reset password successful"}))
    );
}

#[tokio::test]
async fn django_dialect_for_bad_requests_and_outages() {
    let app = app_with(&config()).await;
    for (function, path) in [
        (
            Function::SendResetLink,
            "/api/v1/iam/accounts/send-reset-password-link/",
        ),
        (
            Function::ResetPasswordSigned,
            "/api/v1/iam/accounts/reset-password/",
        ),
    ] {
        let send = |headers: &[(&str, &str)], body: &str| {
            function.handle(&app, apigw_request("POST", path, &[], headers, Some(body)))
        };
        let resp = send(&[("content-type", "text/plain")], "{}").await;
        assert_eq!(resp.status(), 415);
        assert!(response_json(&resp)["detail"].is_string());
        let resp = send(&[JSON], "{").await;
        assert_eq!(resp.status(), 400);
        assert!(
            response_json(&resp)["detail"]
                .as_str()
                .unwrap()
                .starts_with("JSON parse error")
        );
        let resp = send(
            &[JSON],
            &format!("{{\"login\":\"{}\"}}", "x".repeat(17 * 1024)),
        )
        .await;
        assert_eq!(resp.status(), 413);
        let resp = send(&[JSON], "[]").await;
        assert_eq!(resp.status(), 400);
        assert_eq!(
            response_json(&resp)["non_field_errors"],
            json!(["Invalid data. Expected a dictionary, but got list."])
        );
    }
    let resp = app.post(Function::SendResetLink, &[JSON], &json!({})).await;
    assert_eq!(
        response_json(&resp),
        json!({"login": ["This field is required."]})
    );

    let down = App::new(&config(), Arc::new(unreachable_store().await))
        .with_signer(crate::support::signer());
    let resp = Function::SendResetLink
        .handle(
            &down,
            post(
                "/api/v1/iam/accounts/send-reset-password-link/",
                &[JSON],
                &json!({"login": "a@example.com"}),
            ),
        )
        .await;
    assert_eq!(resp.status(), 503);
    assert!(response_json(&resp)["detail"].is_string());
}

async fn recover(app: &App, email: &str) -> lambda_http::Response<lambda_http::Body> {
    post_to(
        app,
        Function::RecoverAccount,
        &[JSON],
        &json!({"email": email}),
    )
    .await
}

/// The issuer when none is configured: the origin the request reached
/// (`apigw_request`'s domain).
const ISSUER: &str = "https://api.example.com";

async fn reset_account(app: &App, code: &str, password: &str) -> (u16, Value) {
    let resp = post_to(
        app,
        Function::ResetAccount,
        &[JSON],
        &json!({"validation_code": code, "password": password}),
    )
    .await;
    (resp.status().as_u16(), response_json(&resp))
}

#[tokio::test]
async fn recovery_resets_and_logs_in() {
    let config = config();
    let app = app_with(&config).await;
    let email = unique_email();
    let user = add_user(&**app.store(), &config, &email).await;

    let unknown = recover(&app, &unique_email()).await;
    let known = recover(&app, &email).await;
    assert_eq!(
        (unknown.status().as_u16(), known.status().as_u16()),
        (200, 200)
    );
    assert_eq!(unknown.body().as_ref(), known.body().as_ref());
    assert_eq!(known.body().as_ref(), b"{}");
    let link = app.take_link().await;
    assert!(link.starts_with("https://app.example.com/account/reset?validation_code=rkt_"));
    let code = query(&link)["validation_code"].clone();

    assert_eq!(
        reset_account(&app, &code, "password").await.1["error"],
        "invalid_request"
    );
    assert_eq!(
        reset_account(&app, "rkt_nonsense", NEW_PASSWORD).await,
        (
            400,
            json!({
                "error": "invalid_grant",
                "error_description": "the validation code is invalid, expired or already used"
            })
        )
    );
    let (status, body) = reset_account(&app, &code, NEW_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let token = &body["token"];
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 600);
    assert_eq!(token["client_id"], "rekey");
    assert_eq!(token["scope"], "account");
    let access = token["access_token"].as_str().unwrap();
    let claims = crate::signing::verify_with_jwks(&app, access, ISSUER, "rekey").await;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(
        (claims["iss"].as_str(), claims["aud"].as_str()),
        (Some(ISSUER), Some("rekey"))
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    let refresh = token["refresh_token"].as_str().unwrap();
    assert!(refresh.starts_with("rkr_"));
    assert_eq!(
        app.reset.refresh_token_user(refresh).await.unwrap().id,
        user.id
    );
    // Stored hashed: the store knows only the digest.
    let digest = rekey::crypto::SecretDigest::of(refresh);
    assert!(app.store().refresh_token(&digest).await.unwrap().is_some());
    assert_eq!(
        reset_account(&app, &code, NEW_PASSWORD).await.1["error"],
        "invalid_grant"
    );

    // A forged access token is refused.
    let forged = format!("{}x", token["access_token"].as_str().unwrap());
    assert!(crate::signing::verify_with_jwks_err(&app, &forged).await);
}

#[tokio::test]
async fn oauth_dialect_for_bad_requests_and_outages() {
    let app = app_with(&config()).await;
    for (function, path) in [
        (Function::RecoverAccount, "/api/v2/account/recover/"),
        (Function::ResetAccount, "/api/v2/account/reset/"),
    ] {
        let send = |headers: &[(&str, &str)], body: &str| {
            function.handle(&app, apigw_request("POST", path, &[], headers, Some(body)))
        };
        for (resp, status) in [
            (send(&[("content-type", "text/plain")], "{}").await, 415),
            (send(&[JSON], "{").await, 400),
            (send(&[JSON], "{}").await, 400),
            (
                send(
                    &[JSON],
                    &format!("{{\"email\":\"{}\"}}", "x".repeat(17 * 1024)),
                )
                .await,
                413,
            ),
        ] {
            assert_eq!(resp.status(), status);
            let body = response_json(&resp);
            assert_eq!(body["error"], "invalid_request");
            assert!(body["error_description"].is_string());
            assert_eq!(resp.headers()["pragma"], "no-cache");
        }
    }
    assert_eq!(recover(&app, "not-an-address").await.status(), 400);
    let down = App::new(&config(), Arc::new(unreachable_store().await))
        .with_signer(crate::support::signer());
    let resp = recover(&down, "a@example.com").await;
    assert_eq!(resp.status(), 503);
    assert_eq!(response_json(&resp)["error"], "temporarily_unavailable");
    let (status, body) = reset_account(&down, "rkt_x", NEW_PASSWORD).await;
    // The per-source limit is counted in the store first: with the store
    // down, every public request is a 503, whatever its code.
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
    let token = rekey::crypto::BearerSecret::generate(rekey::crypto::LINK_TOKEN_PREFIX);
    let (status, body) = reset_account(&down, token.expose(), NEW_PASSWORD).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable"))
    );
}

#[tokio::test]
async fn link_tokens_are_redeemed_by_their_own_contract_and_validated_by_any() {
    // A token from Payabli's request does not log in at account recovery's
    // reset (it redeems only recovery grants); one from recovery validates
    // at Unleash's validate, which never consumes.
    let config = config();
    let app = app_with(&config).await;
    let email = EmailAddress::parse(&unique_email()).unwrap();
    add_user(&**app.store(), &config, email.as_str()).await;
    deliver_now(
        &app.reset,
        AddressRequest::ResetLink { entry: None },
        &email,
        &ClientInfo::default(),
    )
    .await;
    let token = query(&app.take_link().await)["token"].clone();
    assert_eq!(reset_account(&app, &token, NEW_PASSWORD).await.0, 400);

    assert_eq!(recover(&app, email.as_str()).await.status(), 200);
    let link = app.take_link().await;
    let code = query(&link)["validation_code"].clone();
    let validate = apigw_request(
        "GET",
        "/auth/reset/validate",
        &[("token", &code)],
        &[],
        None,
    );
    assert_eq!(
        Function::ValidateToken
            .handle(&app, validate)
            .await
            .status(),
        200
    );
    // Its own contract redeems it.
    assert_eq!(reset_account(&app, &code, NEW_PASSWORD).await.0, 200);
}
