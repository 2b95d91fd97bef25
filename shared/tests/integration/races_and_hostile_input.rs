//! Races on one credential, and hostile request bodies through every POST
//! handler.
//!
//! - 32 concurrent resets with one link token, one Zitadel code, one signed
//!   link: exactly one succeeds each, on the embedded store and on DynamoDB
//!   (moto at `MOTO_ENDPOINT`).
//! - Oversized, deeply nested, non-UTF-8, NUL-laden and wrongly typed bodies,
//!   and a 10 000-character password: always the dialect's 4xx, never a 5xx,
//!   and the long password is refused before it is hashed.
//! - A right Zitadel code after five wrong ones is refused, on DynamoDB.

use rekey::reset::AddressRequest;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use crate::support::*;
use lambda_http::RequestExt;
use rekey::config::Config;
use rekey::domain::{ClientInfo, CredentialVersion, Scope, UnixTime, User};
use rekey::password::{CredentialHasher, NewPassword, Verification};
use rekey::reset::{CodeDelivery, PasswordProof};
use rekey::routes::Function;
use rekey::{App, ResetError, Store};
use serde_json::{Value, json};

type Resp = lambda_http::Response<lambda_http::Body>;

const JSON: (&str, &str) = ("content-type", "application/json");

// ---------------------------------------------------------------------------
// Shared helpers

// ---------------------------------------------------------------------------
// 1. 32 concurrent resets with one credential

const ATTEMPTS: usize = 32;

fn password(i: usize) -> String {
    format!("{NEW_PASSWORD}-{i}")
}

/// Runs `attempt(0..ATTEMPTS)` at once (released together by a barrier).
async fn race<F, Fut>(attempt: F) -> Vec<Result<(), ResetError>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), ResetError>> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(ATTEMPTS));
    let tasks: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let (attempt, start) = (attempt(i), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                attempt.await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.expect("no attempt panics"));
    }
    outcomes
}

/// Exactly one attempt succeeded and every other failed as `lost` says a
/// loser must; the account then holds the winner's password, one version
/// on, with one "password changed" notice.
async fn assert_one_winner(
    what: &str,
    store: &dyn Store,
    config: &Config,
    user: &User,
    outcomes: Vec<Result<(), ResetError>>,
    lost: fn(&ResetError) -> bool,
) {
    let winners: Vec<usize> = (0..ATTEMPTS).filter(|&i| outcomes[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{what}: exactly one succeeds");
    let odd: Vec<&ResetError> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .filter(|e| !lost(e))
        .collect();
    assert!(odd.is_empty(), "{what}: losers told otherwise: {odd:?}");
    let after = store.user(&user.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, user.credential_version.next());
    let hash = after.password_hash.unwrap();
    let hasher = CredentialHasher::new(config.hash_params);
    assert!(
        matches!(
            hasher.verify(&password(winners[0]), &hash),
            Verification::Match { .. }
        ),
        "{what}: the winner's password is set"
    );
    let loser = (winners[0] + 1) % ATTEMPTS;
    assert_eq!(
        hasher.verify(&password(loser), &hash),
        Verification::Mismatch
    );
    assert_eq!(
        notices_for(store, config, &user.id).await,
        1,
        "{what}: one notice"
    );
}

async fn one_credential_one_winner(store: Arc<dyn Store>) {
    let config = config();
    let service = Arc::new(rekey::App::new(&config, store.clone()).reset);
    let client = ClientInfo::default();

    // One link token.
    let user = add_user(&*store, &config, &unique_email()).await;
    deliver_now(
        &service,
        AddressRequest::ResetLink { entry: None },
        &user.email,
        &client,
    )
    .await;
    let token = link_param(&take_link(&store, &config).await, "token");
    let outcomes = race(|i| {
        let (service, token) = (service.clone(), token.clone());
        async move {
            service
                .reset_with_token(&token, &password(i), &ClientInfo::default())
                .await
                .map(drop)
        }
    })
    .await;
    assert_one_winner("link token", &*store, &config, &user, outcomes, |e| {
        matches!(e, ResetError::UsedToken)
    })
    .await;

    // One Zitadel code.
    let user = add_user(&*store, &config, &unique_email()).await;
    let (_, code) = service
        .issue_code(
            &user.id,
            CodeDelivery::ReturnCode,
            &api_key(&[Scope::UsersAdmin]).1,
            &client,
        )
        .await
        .unwrap();
    let code = code.expect("returnCode returns the code");
    let key = api_key(&[Scope::UsersWrite]).1;
    let outcomes = race(|i| {
        let (service, code, key, id) =
            (service.clone(), code.clone(), key.clone(), user.id.clone());
        async move {
            service
                .set_password_with_proof(
                    &id,
                    &password(i),
                    PasswordProof::Code(code),
                    &key,
                    &ClientInfo::default(),
                )
                .await
                .map(drop)
        }
    })
    .await;
    assert_one_winner("zitadel code", &*store, &config, &user, outcomes, |e| {
        matches!(e, ResetError::CodeExpired)
    })
    .await;
    assert!(store.reset_code(&user.id).await.unwrap().is_none());

    // One signed link.
    let user = add_user(&*store, &config, &unique_email()).await;
    deliver_now(&service, AddressRequest::SignedLink, &user.email, &client).await;
    let link = take_link(&store, &config).await;
    let (id, timestamp, signature) = (
        link_param(&link, "user_id"),
        link_param(&link, "timestamp").parse::<i64>().unwrap(),
        link_param(&link, "signature"),
    );
    assert_eq!(id, user.id.as_str());
    let outcomes = race(|i| {
        let (service, id, signature) = (service.clone(), id.clone(), signature.clone());
        async move {
            service
                .reset_with_signature(
                    &id,
                    UnixTime::from_secs(timestamp),
                    &signature,
                    &password(i),
                    &ClientInfo::default(),
                )
                .await
                .map(drop)
        }
    })
    .await;
    assert_one_winner("signed link", &*store, &config, &user, outcomes, |e| {
        matches!(e, ResetError::InvalidSignature)
    })
    .await;
}

crate::on_both_stores!(
    one_token_code_or_signature_resets_once,
    one_credential_one_winner,
    4
);

// ---------------------------------------------------------------------------
// 2. Hostile bodies

/// An API Gateway v2 event whose body is raw bytes, base64-encoded with
/// `isBase64Encoded: true`, as API Gateway sends bodies it does not take
/// for text.
fn apigw_binary_request(path: &str, headers: &[(&str, &str)], body: &[u8]) -> lambda_http::Request {
    use base64::Engine;
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_lowercase(), json!(v)))
        .collect();
    let event = json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "rekey-tests/1.0"
            },
            "requestId": "req",
            "routeKey": format!("POST {path}"),
            "stage": "$default",
            "time": "22/Nov/2026:19:00:00 +0000",
            "timeEpoch": 1795374000000i64
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    });
    let req =
        lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event");
    assert!(
        matches!(req.body(), lambda_http::Body::Binary(b) if b == body),
        "the handler sees the bytes sent"
    );
    req
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Payabli,
    Unleash,
    ZitadelRest,
    ZitadelConnect,
    Django,
    OAuth,
}

/// One POST route with a body that would be accepted as is.
struct Target {
    name: &'static str,
    function: Function,
    path: String,
    headers: Vec<(&'static str, String)>,
    /// REST's `userId` path parameter.
    user_in_path: Option<String>,
    dialect: Dialect,
    body: Value,
    /// The field holding the new password, if the route takes one.
    password: Option<&'static str>,
}

impl Target {
    fn headers(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    fn with_path(&self, req: lambda_http::Request) -> lambda_http::Request {
        match &self.user_in_path {
            Some(id) => {
                req.with_path_parameters(HashMap::from([("userId".to_string(), id.clone())]))
            }
            None => req,
        }
    }

    fn text(&self, body: &str) -> lambda_http::Request {
        self.with_path(apigw_request(
            "POST",
            &self.path,
            &[],
            &self.headers(),
            Some(body),
        ))
    }

    fn bytes(&self, body: &[u8]) -> lambda_http::Request {
        self.with_path(apigw_binary_request(&self.path, &self.headers(), body))
    }

    async fn send(&self, app: &App, req: lambda_http::Request) -> Resp {
        self.function.handle(app, req).await
    }
}

/// Every string in `body` replaced by `f(field, value)`, recursively.
fn map_strings(body: &Value, f: &dyn Fn(&str, &str) -> Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => f(k, s),
                        other => map_strings(other, f),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[derive(Clone, Copy, Debug)]
enum Status {
    Exactly(u16),
    /// Any 4xx: which check refuses first is the route's business.
    ClientError,
}

/// A refusal in the target's dialect: the status, and the body's shape.
fn assert_refused(t: &Target, case: &str, resp: &Resp, status: Status) -> Value {
    let body_text = String::from_utf8_lossy(resp.body()).to_string();
    let got = resp.status().as_u16();
    match status {
        Status::Exactly(want) => assert_eq!(got, want, "{} / {case}: {body_text}", t.name),
        Status::ClientError => assert!(
            (400..500).contains(&got),
            "{} / {case}: {got} {body_text}",
            t.name
        ),
    }
    let body: Value = serde_json::from_slice(resp.body())
        .unwrap_or_else(|_| panic!("{} / {case}: not JSON: {body_text}", t.name));
    let ok = match t.dialect {
        Dialect::Payabli => {
            body["isSuccess"] == false
                && body["responseText"].is_string()
                && body.as_object().unwrap().len() == 2
        }
        Dialect::Unleash => {
            body["name"].is_string() && body["message"].is_string() && body["details"].is_array()
        }
        Dialect::ZitadelRest => {
            body["code"].is_u64() && body["message"].is_string() && body["details"].is_array()
        }
        Dialect::ZitadelConnect => body["code"].is_string() && body["message"].is_string(),
        Dialect::Django => body.as_object().is_some_and(|o| {
            o.iter().all(|(k, v)| {
                if k == "detail" {
                    v.is_string()
                } else {
                    v.as_array()
                        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
                }
            })
        }),
        Dialect::OAuth => body["error"].is_string() && body["error_description"].is_string(),
    };
    assert!(
        ok,
        "{} / {case}: not {:?}'s shape: {body}",
        t.name, t.dialect
    );
    body
}

/// What the hostile-input test works with: an account with an outstanding
/// token, code and signed link, and keys for the routes that need them.
struct Scene {
    app: App,
    config: Config,
    user: User,
    token: String,
    /// An account-recovery token: reset-account redeems only these.
    recovery: String,
    code: String,
    signed: (String, i64, String),
    request_key: String,
    users_key: String,
    _store: Embedded,
}

async fn scene(config: Config) -> Scene {
    let e = embedded_store();
    let store: Arc<dyn Store> = Arc::new(e.store.clone());
    let app = App::new(&config, store.clone()).with_signer(crate::support::signer());
    let request_key = add_key(&*store, &[Scope::ResetRequest]).await;
    let users_key = add_key(&*store, &[Scope::UsersWrite]).await;
    let user = add_user(&*store, &config, &unique_email()).await;
    let client = ClientInfo::default();
    deliver_now(
        &app.reset,
        AddressRequest::ResetLink { entry: None },
        &user.email,
        &client,
    )
    .await;
    let token = link_param(&take_link(&store, &config).await, "token");
    deliver_now(&app.reset, AddressRequest::Recovery, &user.email, &client).await;
    let recovery = link_param(&take_link(&store, &config).await, "validation_code");
    deliver_now(&app.reset, AddressRequest::SignedLink, &user.email, &client).await;
    let link = take_link(&store, &config).await;
    let signed = (
        link_param(&link, "user_id"),
        link_param(&link, "timestamp").parse().unwrap(),
        link_param(&link, "signature"),
    );
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
    Scene {
        app,
        config,
        user,
        token,
        recovery,
        code: code.unwrap(),
        signed,
        request_key,
        users_key,
        _store: e,
    }
}

impl Scene {
    /// Every POST route, each with a body it would accept.
    fn targets(&self) -> Vec<Target> {
        let id = self.user.id.to_string();
        let email = self.user.email.as_str();
        let bearer = format!("Bearer {}", self.users_key);
        let json = ("content-type", "application/json".to_string());
        let zitadel = vec![json.clone(), ("authorization", bearer)];
        let set = json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": self.code});
        let mut set_connect = set.clone();
        set_connect["userId"] = json!(id);
        let target = |name, function, path: &str, dialect, body, password| Target {
            name,
            function,
            path: path.to_string(),
            headers: vec![json.clone()],
            user_in_path: None,
            dialect,
            body,
            password,
        };
        vec![
            Target {
                headers: vec![json.clone(), ("requestToken", self.request_key.clone())],
                ..target(
                    "payabli request-reset",
                    Function::RequestReset,
                    "/api/User/authreset",
                    Dialect::Payabli,
                    json!({"email": email, "entry": "pp", "entryType": 2}),
                    None,
                )
            },
            target(
                "unleash reset-password",
                Function::ResetPassword,
                "/auth/reset/password",
                Dialect::Unleash,
                json!({"token": self.token, "password": NEW_PASSWORD}),
                Some("password"),
            ),
            target(
                "unleash validate-password",
                Function::ValidatePassword,
                "/auth/reset/validate-password",
                Dialect::Unleash,
                json!({"password": NEW_PASSWORD}),
                Some("password"),
            ),
            Target {
                headers: zitadel.clone(),
                user_in_path: Some(id.clone()),
                ..target(
                    "zitadel rest PasswordReset",
                    Function::RequestUserReset,
                    &format!("/v2/users/{id}/password_reset"),
                    Dialect::ZitadelRest,
                    json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": ""}}),
                    None,
                )
            },
            Target {
                headers: zitadel.clone(),
                ..target(
                    "zitadel connect PasswordReset",
                    Function::RequestUserReset,
                    "/zitadel.user.v2.UserService/PasswordReset",
                    Dialect::ZitadelConnect,
                    json!({"userId": id, "sendLink": {"urlTemplate": ""}}),
                    None,
                )
            },
            Target {
                headers: zitadel.clone(),
                user_in_path: Some(id.clone()),
                ..target(
                    "zitadel rest SetPassword",
                    Function::SetPassword,
                    &format!("/v2/users/{id}/password"),
                    Dialect::ZitadelRest,
                    set,
                    Some("newPassword.password"),
                )
            },
            Target {
                headers: zitadel,
                ..target(
                    "zitadel connect SetPassword",
                    Function::SetPassword,
                    "/zitadel.user.v2.UserService/SetPassword",
                    Dialect::ZitadelConnect,
                    set_connect,
                    Some("newPassword.password"),
                )
            },
            target(
                "django send-reset-link",
                Function::SendResetLink,
                "/api/v1/iam/accounts/send-reset-password-link/",
                Dialect::Django,
                json!({"login": email}),
                None,
            ),
            target(
                "django reset-password",
                Function::ResetPasswordSigned,
                "/api/v1/iam/accounts/reset-password/",
                Dialect::Django,
                json!({
                    "user_id": self.signed.0,
                    "timestamp": self.signed.1,
                    "signature": self.signed.2,
                    "password": NEW_PASSWORD,
                    "password_confirm": NEW_PASSWORD,
                }),
                Some("password"),
            ),
            target(
                "oauth recover-account",
                Function::RecoverAccount,
                "/api/v2/account/recover/",
                Dialect::OAuth,
                json!({"email": email}),
                None,
            ),
            target(
                "oauth reset-account",
                Function::ResetAccount,
                "/api/v2/account/reset/",
                Dialect::OAuth,
                json!({"validation_code": self.recovery, "password": NEW_PASSWORD}),
                Some("password"),
            ),
        ]
    }
}

/// What a NUL in every string field gets: always a 4xx. An address, token,
/// user id, code, signature or URL template cannot hold one; django refuses
/// null characters in any field as DRF does; the password policy refuses
/// control characters (rule `control_characters`).
fn nul_status(_t: &Target) -> Status {
    Status::ClientError
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_bodies_get_the_dialects_4xx_never_a_5xx() {
    let s = scene(config()).await;
    let app = &s.app;
    let placeholder = "PLACEHOLDER-7f3a";
    for t in s.targets() {
        let valid = t.body.to_string();

        // Oversized: 413 before anything is parsed.
        let mut big = t.body.clone();
        big["padding"] = json!("x".repeat(17 * 1024));
        assert_refused(
            &t,
            "oversized",
            &t.send(app, t.text(&big.to_string())).await,
            Status::Exactly(413),
        );

        // Deep nesting: unbalanced, balanced inside a field, and objects.
        let cases = [
            ("10 000 [", "[".repeat(10_000)),
            (
                "3 000 nested arrays in a field",
                format!("{{\"x\":{}{}}}", "[".repeat(3_000), "]".repeat(3_000)),
            ),
            (
                "2 000 nested objects",
                format!("{}1{}", "{\"a\":".repeat(2_000), "}".repeat(2_000)),
            ),
        ];
        for (case, body) in cases {
            assert!(body.len() < 16 * 1024, "{case} stays under the size limit");
            assert_refused(
                &t,
                case,
                &t.send(app, t.text(&body)).await,
                Status::Exactly(400),
            );
        }

        // Not UTF-8: every string field's bytes invalid, a UTF-16 body with
        // its byte-order mark, and bare invalid bytes; base64 in the event.
        let marked = map_strings(&t.body, &|_, _| json!(placeholder)).to_string();
        let invalid: Vec<u8> = marked
            .split(placeholder)
            .map(str::as_bytes)
            .collect::<Vec<_>>()
            .join(&[0xFF, 0xFE, 0xFD][..]);
        assert!(std::str::from_utf8(&invalid).is_err());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(valid.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        for (case, body) in [
            ("invalid UTF-8 in every field", invalid),
            ("UTF-16 with a byte-order mark", utf16),
            ("bare invalid bytes", vec![0xC0, 0xFF, 0x00, 0x80]),
        ] {
            assert_refused(
                &t,
                case,
                &t.send(app, t.bytes(&body)).await,
                Status::Exactly(400),
            );
        }

        // A lone surrogate escape in every field: valid JSON syntax, not a
        // Unicode string.
        let surrogate = marked.replace(&format!("\"{placeholder}\""), "\"\\ud800x\"");
        assert_refused(
            &t,
            "lone surrogate",
            &t.send(app, t.text(&surrogate)).await,
            Status::Exactly(400),
        );

        // Wrong top-level types.
        for body in ["null", "\"text\"", "42", "true", "[]"] {
            assert_refused(
                &t,
                body,
                &t.send(app, t.text(body)).await,
                Status::Exactly(400),
            );
        }

        // NUL in every string field.
        let nul = map_strings(&t.body, &|_, v| {
            json!(match v.split_once('@') {
                Some((local, domain)) => format!("{local}\u{0}@{domain}"),
                None => format!("{v}\u{0}"),
            })
        });
        let resp = match &t.user_in_path {
            // REST carries the user in the path: the NUL goes there too.
            Some(id) => {
                let req = apigw_request("POST", &t.path, &[], &t.headers(), Some(&nul.to_string()))
                    .with_path_parameters(HashMap::from([(
                        "userId".to_string(),
                        format!("{id}\u{0}"),
                    )]));
                t.send(app, req).await
            }
            None => t.send(app, t.text(&nul.to_string())).await,
        };
        match nul_status(&t) {
            Status::Exactly(200) => assert_eq!(resp.status(), 200, "{}: NUL", t.name),
            want => {
                assert_refused(&t, "NUL in every field", &resp, want);
            }
        }
    }

    // None of it changed the account, queued mail, or spent its credentials.
    let store = &**app.store();
    let after = store.user(&s.user.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, CredentialVersion(0));
    assert!(store.pending_mail(10).await.unwrap().is_empty());
    assert_eq!(
        store
            .reset_code(&s.user.id)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        0
    );
    let resp = Function::ValidateToken
        .handle(
            app,
            apigw_request(
                "GET",
                "/auth/reset/validate",
                &[("token", &s.token)],
                &[],
                None,
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
}

/// validate-token's GET with `token` in the query, percent-encoded in the
/// raw query string as API Gateway sends it.
fn validate_request(token: &str) -> lambda_http::Request {
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let event = json!({
        "version": "2.0",
        "routeKey": "GET /auth/reset/validate",
        "rawPath": "/auth/reset/validate",
        "rawQueryString": format!("token={encoded}"),
        "headers": {"user-agent": "rekey-tests/1.0"},
        "queryStringParameters": {"token": token},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": "GET",
                "path": "/auth/reset/validate",
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "rekey-tests/1.0"
            },
            "requestId": "req",
            "routeKey": "GET /auth/reset/validate",
            "stage": "$default",
            "time": "22/Nov/2026:19:00:00 +0000",
            "timeEpoch": 1795374000000i64
        },
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_tokens_in_the_query_are_4xx() {
    let s = scene(config()).await;
    for token in [
        format!("{}\u{0}", s.token),
        "\u{0}".repeat(64),
        "rkt_".to_string() + &"A".repeat(10_000),
        s.token.repeat(100),
    ] {
        let resp = Function::ValidateToken
            .handle(&s.app, validate_request(&token))
            .await;
        assert_eq!(
            resp.status(),
            401,
            "{}",
            String::from_utf8_lossy(resp.body())
        );
        assert_eq!(response_json(&resp)["name"], "InvalidTokenError");
    }
}

/// A 10 000-character password, with a valid token, code or signed link
/// where the route takes one: 400 naming the max_length rule in each
/// dialect, and refused before hashing. Hashing is made deliberately slow
/// here (t = 16) so that "faster than one hash" has a wide margin on a busy
/// machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_10_000_character_password_is_refused_before_hashing() {
    let config = config_with(&[("REKEY_ARGON2_ITERATIONS", "16")]);
    let s = scene(config).await;
    let app = &s.app;
    let long = "Aa1-".repeat(2_500);
    assert_eq!(long.chars().count(), 10_000);

    let hasher = CredentialHasher::new(s.config.hash_params);
    let started = Instant::now();
    let hash = tokio::task::spawn_blocking(move || hasher.hash(&NewPassword::normalize("x")))
        .await
        .unwrap();
    let one_hash = started.elapsed();
    assert!(hash.is_ok());

    for t in s.targets().into_iter().filter(|t| t.password.is_some()) {
        let mut body = t.body.clone();
        match t.password.unwrap() {
            "newPassword.password" => body["newPassword"]["password"] = json!(long),
            field => body[field] = json!(long),
        }
        // Without the optional confirmation: two copies would pass 16 KiB.
        if let Some(fields) = body.as_object_mut() {
            fields.remove("password_confirm");
        }
        let started = Instant::now();
        let resp = t.send(app, t.text(&body.to_string())).await;
        let took = started.elapsed();
        let err = assert_refused(&t, "10 000-character password", &resp, Status::Exactly(400));
        let named = match t.dialect {
            Dialect::Unleash => {
                err["name"] == "PasswordPolicyError"
                    && err["details"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d["rule"].clone())
                        .collect::<Vec<_>>()
                        == [json!("max_length")]
            }
            Dialect::ZitadelRest => {
                err["code"] == 3
                    && err["message"].as_str().unwrap().contains("max_length")
                    && err["details"][0]["fieldViolations"][0]["reason"] == "MAX_LENGTH"
            }
            Dialect::ZitadelConnect => {
                err["code"] == "invalid_argument"
                    && err["message"].as_str().unwrap().contains("max_length")
            }
            // DRF's dialect names the field and says the rule in words.
            Dialect::Django => {
                err.as_object().unwrap().keys().collect::<Vec<_>>() == ["password"]
                    && err["password"][0]
                        .as_str()
                        .unwrap()
                        .contains("at most 128 characters")
            }
            Dialect::OAuth => {
                err["error"] == "invalid_request"
                    && err["error_description"]
                        .as_str()
                        .unwrap()
                        .contains("max_length")
            }
            Dialect::Payabli => unreachable!("request-reset takes no password"),
        };
        assert!(named, "{}: the max_length rule is named: {err}", t.name);
        assert!(
            took < one_hash,
            "{}: answered in {took:?}, one hash takes {one_hash:?}: was it hashed?",
            t.name
        );
        eprintln!("{}: refused in {took:?} (one hash: {one_hash:?})", t.name);
    }

    // Nothing was spent: the token, the code's attempts, the account.
    let store = &**app.store();
    let after = store.user(&s.user.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, CredentialVersion(0));
    assert_eq!(
        store
            .reset_code(&s.user.id)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        0
    );
    let resp = Function::ValidateToken
        .handle(
            app,
            apigw_request(
                "GET",
                "/auth/reset/validate",
                &[("token", &s.token)],
                &[],
                None,
            ),
        )
        .await;
    assert_eq!(resp.status(), 200);
}

// ---------------------------------------------------------------------------
// 3. A right code after five wrong ones, on DynamoDB

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_right_code_after_five_wrong_ones_is_refused_on_dynamodb() {
    let store: Arc<dyn Store> = Arc::new(dynamo_store().await);
    let config = config();
    let app = App::new(&config, store.clone()).with_signer(crate::support::signer());
    // users:admin: the codes are asked with returnCode.
    let key = add_key(&*store, &[Scope::UsersWrite, Scope::UsersAdmin]).await;
    let user = add_user(&*store, &config, &unique_email()).await;
    let id = user.id.as_str();
    let bearer = format!("Bearer {key}");
    let call = |function: Function, path: String, body: Value| {
        let req = apigw_request(
            "POST",
            &path,
            &[],
            &[JSON, ("authorization", &bearer)],
            Some(&body.to_string()),
        )
        .with_path_parameters(HashMap::from([("userId".to_string(), id.to_string())]));
        function.handle(&app, req)
    };
    let new_code = || async {
        let resp = call(
            Function::RequestUserReset,
            format!("/v2/users/{id}/password_reset"),
            json!({"returnCode": {}}),
        )
        .await;
        assert_eq!(resp.status(), 200);
        response_json(&resp)["verificationCode"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let set = |code: String| {
        call(
            Function::SetPassword,
            format!("/v2/users/{id}/password"),
            json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code}),
        )
    };

    let code = new_code().await;
    let wrong = |n: usize| -> String {
        // The right code with its first character moved on by n (1..=5):
        // always wrong, always well-formed.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let first = ALPHABET
            .iter()
            .position(|&c| c == code.as_bytes()[0])
            .unwrap();
        let mut w = code.clone().into_bytes();
        w[0] = ALPHABET[(first + n) % ALPHABET.len()];
        String::from_utf8(w).unwrap()
    };
    for n in 1..=5 {
        let resp = set(wrong(n)).await;
        assert_eq!(resp.status(), 400);
        let err = response_json(&resp);
        assert_eq!(err["code"], 3, "wrong code {n}: INVALID_ARGUMENT: {err}");
    }
    let resp = set(code.clone()).await;
    assert_eq!(resp.status(), 400);
    let err = response_json(&resp);
    assert_eq!(
        err["code"], 9,
        "the right code, too late: FAILED_PRECONDITION: {err}"
    );
    assert!(err["message"].is_string() && err["details"].is_array());
    let after = store.user(&user.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, CredentialVersion(0));
    assert!(matches!(
        CredentialHasher::new(config.hash_params)
            .verify(OLD_PASSWORD, after.password_hash.as_deref().unwrap()),
        Verification::Match { .. }
    ));

    // A new code gets a new five attempts.
    let code = new_code().await;
    let resp = set(code).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        String::from_utf8_lossy(resp.body())
    );
}
