//! Each contract's dialect for bad input and outages, through the handlers
//! with API Gateway payloads: always the documented 4xx or 503, never 500.

use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::domain::Scope;
use rekey::routes::Function;
use serde_json::Value;

const JSON: (&str, &str) = ("content-type", "application/json");

fn assert_payabli(resp: &lambda_http::Response<lambda_http::Body>, status: u16) {
    assert_eq!(resp.status(), status);
    let body = response_json(resp);
    assert_eq!(body["isSuccess"], false);
    assert!(body["responseText"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only the dialect's fields: {body}"
    );
}

fn assert_unleash(
    resp: &lambda_http::Response<lambda_http::Body>,
    status: u16,
    name: &str,
) -> Value {
    assert_eq!(resp.status(), status);
    let body = response_json(resp);
    assert_eq!(body["name"], name);
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok());
    assert!(body["message"].is_string());
    assert!(!body["details"].as_array().unwrap().is_empty());
    assert!(body["details"][0]["message"].is_string());
    body
}

async fn local_app() -> (App, String, Embedded) {
    let e = embedded_store();
    let store: Arc<dyn rekey::Store> = Arc::new(e.store.clone());
    let key = add_key(&*store, &[Scope::ResetRequest]).await;
    (App::new(&config(), store), key, e)
}

#[tokio::test]
async fn payabli_dialect_for_bad_input_and_keys() {
    let (app, key, _e) = local_app().await;
    let auth = ("requestToken", key.as_str());
    let handle = |req| Function::RequestReset.handle(&app, req);
    let path = "/api/User/authreset";
    assert_payabli(
        &handle(post(path, &[auth], r#"{"email":"a@example.com"}"#)).await,
        415,
    );
    assert_payabli(&handle(post(path, &[JSON, auth], "{\"email\":")).await, 400);
    assert_payabli(
        &handle(post(path, &[JSON, auth], r#"{"email":5}"#)).await,
        400,
    );
    assert_payabli(&handle(post(path, &[JSON, auth], "[]")).await, 400);
    assert_payabli(
        &handle(post(path, &[JSON, auth], r#"{"email":"not-an-address"}"#)).await,
        400,
    );
    assert_payabli(
        &handle(post(
            path,
            &[JSON, auth],
            r#"{"email":"a@example.com","entry":"x"}"#,
        ))
        .await,
        400,
    );
    assert_payabli(
        &handle(post(
            path,
            &[JSON, auth],
            r#"{"email":"a@example.com","entryType":1}"#,
        ))
        .await,
        400,
    );
    let big = format!(
        r#"{{"email":"a@example.com","entry":"{}","entryType":0}}"#,
        "x".repeat(17 * 1024)
    );
    assert_payabli(&handle(post(path, &[JSON, auth], &big)).await, 413);
    // Keys: missing, malformed, unknown, or without the scope.
    let body = r#"{"email":"a@example.com"}"#;
    assert_payabli(&handle(post(path, &[JSON], body)).await, 401);
    assert_payabli(
        &handle(post(path, &[JSON, ("requestToken", "garbage")], body)).await,
        401,
    );
    let unknown = rekey::crypto::BearerSecret::generate(rekey::crypto::API_KEY_PREFIX);
    assert_payabli(
        &handle(post(
            path,
            &[JSON, ("requestToken", unknown.expose())],
            body,
        ))
        .await,
        401,
    );
    let other_scope = add_key(&**app.store(), &[Scope::UsersWrite]).await;
    assert_payabli(
        &handle(post(path, &[JSON, ("requestToken", &other_scope)], body)).await,
        401,
    );
    // Entry selects a configured template; both forms are well-formed.
    let ok = handle(post(
        path,
        &[JSON, auth],
        r#"{"email":"a@example.com","entry":"pp","entryType":2}"#,
    ))
    .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn unleash_dialect_for_bad_input_and_tokens() {
    let (app, _, _e) = local_app().await;
    for (function, path, body) in [
        (
            Function::ResetPassword,
            "/auth/reset/password",
            r#"{"token":"t","password":"p"}"#,
        ),
        (
            Function::ValidatePassword,
            "/auth/reset/validate-password",
            r#"{"password":"p"}"#,
        ),
    ] {
        let handle = |req| function.handle(&app, req);
        assert_unleash(
            &handle(post(path, &[], body)).await,
            415,
            "ContentTypeError",
        );
        assert_unleash(
            &handle(post(path, &[("content-type", "text/plain")], body)).await,
            415,
            "ContentTypeError",
        );
        assert_unleash(&handle(post(path, &[JSON], "{")).await, 400, "BadDataError");
        assert_unleash(
            &handle(post(path, &[JSON], "{}")).await,
            400,
            "BadDataError",
        );
        assert_unleash(
            &handle(post(path, &[JSON], r#"{"token":1,"password":2}"#)).await,
            400,
            "BadDataError",
        );
        let big = format!(r#"{{"token":"t","password":"{}"}}"#, "x".repeat(17 * 1024));
        assert_unleash(
            &handle(post(path, &[JSON], &big)).await,
            413,
            "ContentTooLargeError",
        );
    }
    let reset = |token: &str| {
        let body = serde_json::json!({"token": token, "password": NEW_PASSWORD}).to_string();
        Function::ResetPassword.handle(&app, post("/auth/reset/password", &[JSON], &body))
    };
    assert_unleash(&reset("garbage").await, 401, "InvalidTokenError");
    let unknown = rekey::crypto::BearerSecret::generate(rekey::crypto::LINK_TOKEN_PREFIX);
    assert_unleash(&reset(unknown.expose()).await, 401, "InvalidTokenError");
    let validate = |q: &[(&str, &str)]| {
        Function::ValidateToken.handle(
            &app,
            apigw_request("GET", "/auth/reset/validate", q, &[], None),
        )
    };
    assert_unleash(&validate(&[]).await, 400, "BadDataError");
    assert_unleash(
        &validate(&[("token", unknown.expose())]).await,
        401,
        "InvalidTokenError",
    );

    // Every failed rule is named, once.
    let body = r#"{"password":"password"}"#;
    let resp = Function::ValidatePassword
        .handle(&app, post("/auth/reset/validate-password", &[JSON], body))
        .await;
    let err = assert_unleash(&resp, 400, "PasswordPolicyError");
    let rules: Vec<&str> = err["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    // The default profile (NIST SP 800-63B rev. 4): length and the list,
    // no composition rule; the answer names the profile.
    assert_eq!(rules, ["min_length", "common"]);
    assert_eq!(err["profile"], "nist-800-63b-rev4");
    let body = serde_json::json!({"password": "x".repeat(10_000)}).to_string();
    let resp = Function::ValidatePassword
        .handle(&app, post("/auth/reset/validate-password", &[JSON], &body))
        .await;
    let err = assert_unleash(&resp, 400, "PasswordPolicyError");
    assert_eq!(err["details"][0]["rule"], "max_length");
}

#[tokio::test]
async fn an_unreachable_store_is_503_in_each_dialect() {
    // DynamoDB at a closed loopback port: connection refused, after the
    // SDK's bounded retries.
    let config = rekey::aws::config_loader()
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "x", "x", None, None, "t",
        ))
        .load()
        .await;
    let store =
        rekey::store::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "absent");
    let app = App::new(&crate::support::config(), Arc::new(store));
    let key = rekey::crypto::BearerSecret::generate(rekey::crypto::API_KEY_PREFIX);
    let resp = Function::RequestReset
        .handle(
            &app,
            post(
                "/api/User/authreset",
                &[JSON, ("requestToken", key.expose())],
                r#"{"email":"a@example.com"}"#,
            ),
        )
        .await;
    assert_payabli(&resp, 503);
    assert_eq!(
        response_json(&resp)["responseText"],
        "Database connection error"
    );
    let token = rekey::crypto::BearerSecret::generate(rekey::crypto::LINK_TOKEN_PREFIX);
    let body = serde_json::json!({"token": token.expose(), "password": NEW_PASSWORD}).to_string();
    let resp = Function::ResetPassword
        .handle(&app, post("/auth/reset/password", &[JSON], &body))
        .await;
    assert_unleash(&resp, 503, "ServiceUnavailableError");
    let resp = Function::ValidateToken
        .handle(
            &app,
            apigw_request(
                "GET",
                "/auth/reset/validate",
                &[("token", token.expose())],
                &[],
                None,
            ),
        )
        .await;
    assert_unleash(&resp, 503, "ServiceUnavailableError");
}
