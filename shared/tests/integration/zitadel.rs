//! Zitadel's PasswordReset and SetPassword, through the handlers
//! with API Gateway payloads, in both dialects: REST (`/v2/users/{userId}/...`,
//! numeric gRPC codes) and Connect (`/zitadel.user.v2.UserService/...`,
//! `userId` in the body, string codes).

use rekey::reset::AddressRequest;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use lambda_http::RequestExt;
use rekey::App;
use rekey::config::Config;
use rekey::domain::{ClientInfo, EmailAddress, OrgBinding, Scope, User, UserId};
use rekey::mail::{MailJob, MailMessage};
use rekey::password::{CredentialHasher, NewPassword, Verification};
use rekey::routes::Function;
use serde_json::{Value, json};

type Resp = lambda_http::Response<lambda_http::Body>;

const JSON: (&str, &str) = ("content-type", "application/json");
const OTHER_PASSWORD: &str = "Another-Quiet-Lake-77";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Rest,
    Connect,
}

const BOTH: [Via; 2] = [Via::Rest, Via::Connect];

/// The request for `function` on `user`: REST puts the id in the path (as
/// API Gateway's path parameter), Connect in the body.
fn request(
    via: Via,
    function: Function,
    user: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> lambda_http::Request {
    match via {
        Via::Rest => {
            let path = match function {
                Function::RequestUserReset => format!("/v2/users/{user}/password_reset"),
                Function::SetPassword => format!("/v2/users/{user}/password"),
                other => panic!("{other:?} is not a Zitadel function"),
            };
            apigw_request("POST", &path, &[], headers, Some(body))
                .with_path_parameters(HashMap::from([("userId".to_string(), user.to_string())]))
        }
        Via::Connect => {
            let path = match function {
                Function::RequestUserReset => "/zitadel.user.v2.UserService/PasswordReset",
                Function::SetPassword => "/zitadel.user.v2.UserService/SetPassword",
                other => panic!("{other:?} is not a Zitadel function"),
            };
            apigw_request("POST", path, &[], headers, Some(body))
        }
    }
}

/// Adds `userId` to a Connect body (REST carries it in the path).
fn with_user(via: Via, user: &str, mut body: Value) -> String {
    if via == Via::Connect {
        body["userId"] = json!(user);
    }
    body.to_string()
}

struct Env {
    app: TestApp,
    config: Config,
    /// users:write
    key: String,
    /// users:write and users:admin
    admin: String,
}

async fn env_with(extra: &[(&str, &str)]) -> Env {
    let app = TestApp::embedded(config_with(extra)).await;
    // The Zitadel instance's keys act for every organisation; tenancy has
    // its own tests (tenancy.rs).
    let all = || OrgBinding::AllOrgs;
    let key = add_key_for(&*app.store, &[Scope::UsersWrite], all()).await;
    let admin = add_key_for(&*app.store, &[Scope::UsersWrite, Scope::UsersAdmin], all()).await;
    Env {
        config: app.config.clone(),
        app,
        key,
        admin,
    }
}

async fn env() -> Env {
    env_with(&[]).await
}

impl Env {
    async fn call(&self, via: Via, function: Function, key: &str, user: &str, body: Value) -> Resp {
        let auth = format!("Bearer {key}");
        let req = request(
            via,
            function,
            user,
            &[JSON, ("authorization", &auth)],
            &with_user(via, user, body),
        );
        function.handle(&self.app, req).await
    }

    async fn reset(&self, via: Via, user: &str, body: Value) -> Resp {
        self.call(via, Function::RequestUserReset, &self.key, user, body)
            .await
    }

    async fn set(&self, via: Via, key: &str, user: &str, body: Value) -> Resp {
        self.call(via, Function::SetPassword, key, user, body).await
    }

    /// PasswordReset with the users:admin key: returnCode needs it.
    async fn reset_admin(&self, via: Via, user: &str, body: Value) -> Resp {
        self.call(via, Function::RequestUserReset, &self.admin, user, body)
            .await
    }

    /// A code issued with returnCode.
    async fn code(&self, via: Via, user: &UserId) -> String {
        let resp = self
            .reset_admin(via, user.as_str(), json!({"returnCode": {}}))
            .await;
        assert_eq!(resp.status(), 200, "{}", response_json(&resp));
        response_json(&resp)["verificationCode"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn user(&self) -> (User, String) {
        let email = unique_email();
        (
            add_user(&**self.app.store(), &self.config, &email).await,
            email,
        )
    }

    async fn user_in_org(&self, org: &str) -> User {
        let mut user = User::new(
            UserId::generate(),
            EmailAddress::parse(&unique_email()).unwrap(),
            now(),
        );
        user.org = Some(org.into());
        user.password_hash = Some(
            CredentialHasher::new(self.config.hash_params)
                .hash(&NewPassword::normalize(OLD_PASSWORD))
                .unwrap(),
        );
        self.app.store().insert_user(&user).await.unwrap();
        user
    }

    async fn pending(&self) -> Vec<MailJob> {
        let items = self.app.store().pending_mail(10).await.unwrap();
        items
            .iter()
            .map(|item| {
                MailJob::open(&self.config.keys, item).expect("sealed with the service key")
            })
            .collect()
    }

    /// Opens and removes the queued mail.
    async fn take_mail(&self) -> Vec<MailJob> {
        crate::support::take_mail(self.app.store(), &self.config).await
    }

    async fn password_is(&self, user: &UserId, password: &str) -> bool {
        let hash = self
            .app
            .store()
            .user(user)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap();
        matches!(
            CredentialHasher::new(self.config.hash_params).verify(password, &hash),
            Verification::Match { .. }
        )
    }
}

fn set_with_code(code: &str) -> Value {
    json!({"newPassword": {"password": NEW_PASSWORD, "changeRequired": false}, "verificationCode": code})
}

/// The dialect's error shape, and its code; returns the body.
fn assert_error(via: Via, resp: &Resp, status: u16, grpc: i64, connect: &str) -> Value {
    let body = response_json(resp);
    assert_eq!(resp.status(), status, "{via:?}: {body}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/json",
        "errors are JSON in both dialects"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    match via {
        Via::Rest => {
            assert_eq!(body["code"], grpc, "{body}");
            assert!(body["details"].is_array(), "{body}");
            assert_eq!(keys.len(), 3, "{body}");
        }
        Via::Connect => {
            assert_eq!(body["code"], connect, "{body}");
            assert_eq!(keys.len(), 2, "{body}");
        }
    }
    body
}

fn invalid_argument(via: Via, resp: &Resp) -> Value {
    assert_error(via, resp, 400, 3, "invalid_argument")
}

fn failed_precondition(via: Via, resp: &Resp) -> Value {
    assert_error(via, resp, 400, 9, "failed_precondition")
}

fn details(resp: &Resp) -> Value {
    let body = response_json(resp);
    assert_eq!(resp.status(), 200, "{body}");
    let details = body["details"].clone();
    assert_eq!(details.as_object().unwrap().len(), 3, "{details}");
    details
}

fn assert_code_shape(code: &str) {
    assert_eq!(code.len(), 6, "{code}");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
        "{code}"
    );
}

#[tokio::test]
async fn return_code_returns_the_code_and_sends_nothing() {
    let env = env().await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let resp = env
            .reset_admin(via, user.id.as_str(), json!({"returnCode": {}}))
            .await;
        let body = response_json(&resp);
        assert_eq!(resp.status(), 200, "{body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
        assert_code_shape(body["verificationCode"].as_str().unwrap());
        let d = details(&resp);
        assert_eq!(d["resourceOwner"], "rekey", "the default org");
        assert!(d["sequence"].as_str().unwrap().parse::<u64>().is_ok());
        assert!(
            env.pending().await.is_empty(),
            "{via:?}: returnCode mails nothing"
        );
    }
}

#[tokio::test]
async fn send_link_mails_the_templated_link_and_returns_no_code() {
    let env = env_with(&[(
        "REKEY_ALLOWED_LINK_ORIGINS",
        "https://app.example.com,org-42=https://other.example",
    )])
    .await;
    for via in BOTH {
        let user = env.user_in_org("org-42").await;
        let id = user.id.as_str();
        let template = "https://other.example/password/change?userID={{.UserID}}&code={{ .Code }}&orgID={{.OrgID}}";
        let body = json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email", "urlTemplate": template}});
        let resp = env.reset(via, id, body).await;
        let d = details(&resp);
        let json = response_json(&resp);
        assert!(json.get("verificationCode").is_none(), "{json}");
        assert_eq!(d["resourceOwner"], "org-42", "the user's org");

        let mail = env.take_mail().await;
        assert_eq!(mail.len(), 1, "{via:?}: one mail");
        assert_eq!(mail[0].to, user.email.as_str());
        assert_eq!(mail[0].user_id, user.id);
        let MailMessage::ResetLink { link, code, .. } = &mail[0].message else {
            panic!("a reset link mail");
        };
        let code = code.as_deref().expect("the code is shown beside the link");
        assert_code_shape(code);
        assert_eq!(
            link,
            &format!("https://other.example/password/change?userID={id}&code={code}&orgID=org-42")
        );

        // The mailed code sets the password.
        assert_eq!(
            env.set(via, &env.key, id, set_with_code(code))
                .await
                .status(),
            200
        );
        assert!(env.password_is(&user.id, NEW_PASSWORD).await);
        env.take_mail().await; // the "password changed" notice
    }

    // No sendLink options, an empty body, and no body at all: the configured
    // template (on the default front end) by mail.
    let (user, _) = env.user().await;
    let id = user.id.as_str();
    for body in [
        json!({"sendLink": {"notificationType": 1}}),
        json!({}),
        json!({"sendLink": {"urlTemplate": ""}}),
    ] {
        for via in BOTH {
            let resp = env.reset(via, id, body.clone()).await;
            assert!(response_json(&resp).get("verificationCode").is_none());
            assert_eq!(details(&resp)["resourceOwner"], "rekey");
            let mail = env.take_mail().await;
            assert_eq!(mail.len(), 1, "{via:?} {body}");
            let MailMessage::ResetLink { link, code, .. } = &mail[0].message else {
                panic!("a reset link mail");
            };
            let code = code.as_deref().unwrap();
            assert_eq!(
                link,
                &format!("https://app.example.com/reset/code?userID={id}&code={code}&orgID=rekey")
            );
        }
    }
    let auth = format!("Bearer {}", env.key);
    let req = request(
        Via::Rest,
        Function::RequestUserReset,
        id,
        &[JSON, ("authorization", &auth)],
        "",
    );
    assert_eq!(
        Function::RequestUserReset
            .handle(&env.app, req)
            .await
            .status(),
        200
    );
    assert_eq!(env.take_mail().await.len(), 1, "an empty body is {{}}");
}

#[tokio::test]
async fn bad_requests_are_invalid_argument_and_nothing_is_sent() {
    let env = env_with(&[(
        "REKEY_ALLOWED_LINK_ORIGINS",
        "https://app.example.com,https://other.example",
    )])
    .await;
    let (user, _) = env.user().await;
    let id = user.id.as_str();
    let long = format!(
        "https://app.example.com/{}?c={{{{.Code}}}}",
        "a".repeat(200)
    );
    let link = |t: &str| json!({"sendLink": {"urlTemplate": t}});
    let bad = [
        link("https://app.example.com/r?e={{.Email}}"),
        link("https://app.example.com/r?c={{.Code}"),
        link("https://app.example.com/r?c={{.Code}}}}"),
        link(&long),
        link("https://evil.example/r?c={{.Code}}"),
        link("http://app.example.com/r?c={{.Code}}"),
        link("https://{{.UserID}}.app.example.com/r"),
        link("javascript:alert(1)//{{.Code}}"),
        json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Pigeon"}}),
        json!({"sendLink": {"notificationType": 7}}),
        json!({"sendLink": {}, "returnCode": {}}),
        json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email"}, "returnCode": {}}),
        json!({"returnCode": true}),
        json!({"sendLink": "yes"}),
        json!({"sendLink": {"urlTemplate": 5}}),
    ];
    for via in BOTH {
        for body in &bad {
            invalid_argument(via, &env.reset(via, id, body.clone()).await);
        }
        // The message names the placeholder problem.
        let err = invalid_argument(via, &env.reset(via, id, bad[0].clone()).await);
        assert!(
            err["message"].as_str().unwrap().contains("placeholder"),
            "{err}"
        );
        let err = invalid_argument(via, &env.reset(via, id, link(&long)).await);
        assert!(err["message"].as_str().unwrap().contains("200"), "{err}");
        // Malformed JSON.
        let auth = format!("Bearer {}", env.key);
        let req = request(
            via,
            Function::RequestUserReset,
            id,
            &[JSON, ("authorization", &auth)],
            "{\"sendLink\":",
        );
        invalid_argument(via, &Function::RequestUserReset.handle(&env.app, req).await);
        let req = request(
            via,
            Function::SetPassword,
            id,
            &[JSON, ("authorization", &auth)],
            "[1]",
        );
        invalid_argument(via, &Function::SetPassword.handle(&env.app, req).await);
        // Allowed origins other than the default front end work.
        let ok = env
            .reset(via, id, link("https://other.example/r?c={{.Code}}"))
            .await;
        assert_eq!(ok.status(), 200);
        env.take_mail().await;
    }
    assert!(
        env.pending().await.is_empty(),
        "no bad request mails anything"
    );
}

#[tokio::test]
async fn sms_unknown_users_and_user_ids() {
    let env = env().await;
    let (user, _) = env.user().await;
    let id = user.id.as_str();
    for via in BOTH {
        for sms in [json!("NOTIFICATION_TYPE_SMS"), json!(2)] {
            let resp = env
                .reset(via, id, json!({"sendLink": {"notificationType": sms}}))
                .await;
            let err = failed_precondition(via, &resp);
            assert!(err["message"].as_str().unwrap().contains("SMS"), "{err}");
        }
        let unknown = UserId::generate();
        for function in [Function::RequestUserReset, Function::SetPassword] {
            let key = env.admin.clone();
            let body = match function {
                Function::RequestUserReset => json!({"returnCode": {}}),
                _ => json!({"newPassword": {"password": NEW_PASSWORD}}),
            };
            for user in [unknown.as_str(), "no!such", "x".repeat(150).as_str()] {
                let resp = env.call(via, function, &key, user, body.clone()).await;
                assert_error(via, &resp, 404, 5, "not_found");
            }
            // Missing, empty or overlong: INVALID_ARGUMENT.
            for user in ["", &"x".repeat(201)] {
                invalid_argument(
                    via,
                    &env.call(via, function, &key, user, body.clone()).await,
                );
            }
        }
    }
    // Connect needs userId in the body.
    let auth = format!("Bearer {}", env.key);
    let req = request(
        Via::Connect,
        Function::RequestUserReset,
        "",
        &[JSON, ("authorization", &auth)],
        r#"{"returnCode":{}}"#,
    );
    let err = invalid_argument(
        Via::Connect,
        &Function::RequestUserReset.handle(&env.app, req).await,
    );
    assert!(err["message"].as_str().unwrap().contains("userId"), "{err}");
    let req = request(
        Via::Connect,
        Function::SetPassword,
        "",
        &[JSON, ("authorization", &auth)],
        &set_with_code("ABC123").to_string(),
    );
    invalid_argument(
        Via::Connect,
        &Function::SetPassword.handle(&env.app, req).await,
    );
    // REST: a body userId must agree with the path.
    let other = UserId::generate();
    let body = json!({"userId": other.as_str(), "returnCode": {}});
    invalid_argument(Via::Rest, &env.reset(Via::Rest, id, body).await);
    let body = json!({"userId": id, "returnCode": {}});
    assert_eq!(env.reset_admin(Via::Rest, id, body).await.status(), 200);
    assert!(env.pending().await.is_empty());
}

#[tokio::test]
async fn proto_field_names_are_accepted() {
    let env = env().await;
    let (user, _) = env.user().await;
    let id = user.id.as_str();
    let auth = format!("Bearer {}", env.admin);
    for via in BOTH {
        // Connect's user id under its proto name too (REST: the same as the path).
        let body = json!({"return_code": {}, "user_id": id}).to_string();
        let req = request(
            via,
            Function::RequestUserReset,
            id,
            &[JSON, ("authorization", &auth)],
            &body,
        );
        let resp = Function::RequestUserReset.handle(&env.app, req).await;
        assert_eq!(resp.status(), 200, "{}", response_json(&resp));
        let code = response_json(&resp)["verificationCode"]
            .as_str()
            .unwrap()
            .to_string();
        let body = json!({"new_password": {"password": NEW_PASSWORD, "change_required": true}, "verification_code": code});
        assert_eq!(env.set(via, &env.key, id, body).await.status(), 200);
    }
    // One field under both its names is a duplicate, as protojson says.
    let body = json!({"returnCode": {}, "return_code": {}});
    invalid_argument(Via::Rest, &env.reset(Via::Rest, id, body).await);
}

#[tokio::test]
async fn keys_content_types_and_sizes_in_each_dialect() {
    let env = env().await;
    let (user, _) = env.user().await;
    let id = user.id.as_str();
    let reset_request_key = add_key(&**env.app.store(), &[Scope::ResetRequest]).await;
    let unknown = rekey::crypto::BearerSecret::generate(rekey::crypto::API_KEY_PREFIX);
    let big = json!({"returnCode": {}, "pad": "x".repeat(17 * 1024)}).to_string();
    for via in BOTH {
        for function in [Function::RequestUserReset, Function::SetPassword] {
            let body = match function {
                Function::RequestUserReset => with_user(via, id, json!({"returnCode": {}})),
                _ => with_user(via, id, set_with_code("ABC123")),
            };
            let send = |headers: Vec<(&str, String)>, body: &str| {
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                function.handle(&env.app, request(via, function, id, &headers, body))
            };
            let json = ("content-type", "application/json".to_string());
            let bearer = |k: &str| ("authorization", format!("Bearer {k}"));
            // No key, another scheme, an unknown key, a malformed one.
            for headers in [
                vec![json.clone()],
                vec![
                    json.clone(),
                    ("authorization", format!("Basic {}", env.key)),
                ],
                vec![json.clone(), ("authorization", env.key.clone())],
                vec![json.clone(), bearer(unknown.expose())],
                vec![json.clone(), bearer("garbage")],
                // The key is checked before the body is looked at.
                vec![("content-type", "text/plain".into())],
            ] {
                assert_error(via, &send(headers, &body).await, 401, 16, "unauthenticated");
            }
            // A key without users:write.
            let err = assert_error(
                via,
                &send(vec![json.clone(), bearer(&reset_request_key)], &body).await,
                403,
                7,
                "permission_denied",
            );
            assert!(
                err["message"].as_str().unwrap().contains("users:write"),
                "{err}"
            );
            // Content type (Connect: 415 for a codec it does not speak).
            for ct in [
                None,
                Some("text/plain"),
                Some("application/proto"),
                Some("application/x-www-form-urlencoded"),
            ] {
                let mut headers = vec![bearer(&env.key)];
                if let Some(ct) = ct {
                    headers.push(("content-type", ct.to_string()));
                }
                let resp = send(headers, &body).await;
                assert_error(via, &resp, 415, 3, "invalid_argument");
                assert_eq!(resp.headers()["accept-post"], "application/json");
            }
            // 16 KiB at most.
            let resp = send(vec![json.clone(), bearer(&env.key)], &big).await;
            assert_error(via, &resp, 413, 8, "resource_exhausted");
            // The same key and body with the right type would pass the gate.
            let resp = send(
                vec![
                    ("content-type", "application/json; charset=utf-8".into()),
                    bearer(&env.key),
                ],
                &body,
            )
            .await;
            assert_ne!(resp.status(), 415);
        }
    }
    assert!(env.pending().await.is_empty());
}

#[tokio::test]
async fn sequence_increases_and_change_date_is_rfc3339() {
    let env = env().await;
    let (user, _) = env.user().await;
    let id = user.id.as_str();
    let mut last = 0u64;
    let mut codes = Vec::new();
    for via in [Via::Rest, Via::Connect, Via::Rest] {
        let resp = env.reset_admin(via, id, json!({"returnCode": {}})).await;
        codes.push(
            response_json(&resp)["verificationCode"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let d = details(&resp);
        let sequence: u64 = d["sequence"]
            .as_str()
            .expect("a u64 as a string")
            .parse()
            .unwrap();
        assert!(sequence > last, "{sequence} after {last}");
        last = sequence;
        let date = d["changeDate"].as_str().unwrap();
        assert!(date.ends_with('Z'), "UTC: {date}");
        let parsed =
            time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert!((parsed.unix_timestamp() - now_secs()).abs() < 60, "{date}");
    }
    // SetPassword reports the next sequence too.
    let resp = env
        .set(
            Via::Connect,
            &env.key,
            id,
            set_with_code(codes.last().unwrap()),
        )
        .await;
    let d = details(&resp);
    let sequence: u64 = d["sequence"].as_str().unwrap().parse().unwrap();
    assert!(sequence > last, "{sequence} after {last}");
    assert_eq!(d["resourceOwner"], "rekey");
    time::OffsetDateTime::parse(
        d["changeDate"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        response_json(&resp).as_object().unwrap().len(),
        1,
        "only details"
    );
}

#[tokio::test]
async fn a_code_sets_the_password_once() {
    let env = env().await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let id = user.id.as_str();
        let code = env.code(via, &user.id).await;
        assert_eq!(
            env.set(via, &env.key, id, set_with_code(&code))
                .await
                .status(),
            200
        );
        assert!(env.password_is(&user.id, NEW_PASSWORD).await);
        assert!(!env.password_is(&user.id, OLD_PASSWORD).await);
        // Used.
        for again in BOTH {
            failed_precondition(
                again,
                &env.set(again, &env.key, id, set_with_code(&code)).await,
            );
        }
    }
}

#[tokio::test]
async fn a_newer_code_replaces_the_older() {
    let env = env().await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let id = user.id.as_str();
        let first = env.code(via, &user.id).await;
        let second = env.code(via, &user.id).await;
        if first != second {
            let resp = env.set(via, &env.key, id, set_with_code(&first)).await;
            assert_eq!(resp.status(), 400, "the older code fails");
            let code = response_json(&resp)["code"].clone();
            assert!(
                [
                    json!(3),
                    json!(9),
                    json!("invalid_argument"),
                    json!("failed_precondition")
                ]
                .contains(&code),
                "{code}"
            );
        }
        assert_eq!(
            env.set(via, &env.key, id, set_with_code(&second))
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn wrong_codes_count_and_five_void_the_code() {
    let env = env().await;
    let (user, _) = env.user().await;
    let id = user.id.as_str();
    let code = env.code(Via::Rest, &user.id).await;
    let wrong = if code == "AAAAAA" { "BBBBBB" } else { "AAAAAA" };
    for attempt in 0..5 {
        let via = BOTH[attempt % 2];
        let err = invalid_argument(via, &env.set(via, &env.key, id, set_with_code(wrong)).await);
        assert!(
            !err.to_string().contains(wrong),
            "the code sent is not echoed"
        );
    }
    for via in BOTH {
        failed_precondition(via, &env.set(via, &env.key, id, set_with_code(&code)).await);
    }
    assert!(env.password_is(&user.id, OLD_PASSWORD).await);
    // An empty code costs no attempt and is refused outright.
    let code = env.code(Via::Rest, &user.id).await;
    for via in BOTH {
        invalid_argument(via, &env.set(via, &env.key, id, set_with_code("")).await);
    }
    for attempt in 0..4 {
        let via = BOTH[attempt % 2];
        invalid_argument(via, &env.set(via, &env.key, id, set_with_code(wrong)).await);
    }
    assert_eq!(
        env.set(Via::Connect, &env.key, id, set_with_code(&code))
            .await
            .status(),
        200
    );
}

/// A code expires when the clock passes its lifetime: the test moves the
/// app's clock instead of waiting for a short lifetime to run out.
#[tokio::test]
async fn an_expired_code_is_failed_precondition() {
    let clock = rekey::clock::ManualClock::starting_now();
    let mut env = env_with(&[("REKEY_CODE_TTL_SECONDS", "600")]).await;
    env.app = env.app.with_clock(clock.clone());
    let (user, _) = env.user().await;
    let code = env.code(Via::Rest, &user.id).await;
    let stored = env.app.store().reset_code(&user.id).await.unwrap().unwrap();
    assert_eq!(
        stored.expires_at,
        stored.issued_at + Duration::from_secs(600)
    );
    clock.advance(Duration::from_secs(600));
    for via in BOTH {
        failed_precondition(
            via,
            &env.set(via, &env.key, user.id.as_str(), set_with_code(&code))
                .await,
        );
    }
    assert!(env.password_is(&user.id, OLD_PASSWORD).await);
}

#[tokio::test]
async fn current_password_or_admin_keys_instead_of_a_code() {
    let env = env().await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let id = user.id.as_str();
        let with_current = |current: &str, new: &str| json!({"newPassword": {"password": new}, "currentPassword": current});
        invalid_argument(
            via,
            &env.set(
                via,
                &env.key,
                id,
                with_current("Wrong-Passw0rd-entirely", NEW_PASSWORD),
            )
            .await,
        );
        invalid_argument(
            via,
            &env.set(via, &env.key, id, with_current("", NEW_PASSWORD))
                .await,
        );
        assert!(env.password_is(&user.id, OLD_PASSWORD).await);
        assert_eq!(
            env.set(via, &env.key, id, with_current(OLD_PASSWORD, NEW_PASSWORD))
                .await
                .status(),
            200
        );
        assert!(env.password_is(&user.id, NEW_PASSWORD).await);

        // Code and current password together.
        let code = env.code(via, &user.id).await;
        let both = json!({"newPassword": {"password": OTHER_PASSWORD}, "verificationCode": code, "currentPassword": NEW_PASSWORD});
        invalid_argument(via, &env.set(via, &env.admin, id, both).await);

        // No proof: only for users:admin.
        let none = json!({"newPassword": {"password": OTHER_PASSWORD}});
        let err = assert_error(
            via,
            &env.set(via, &env.key, id, none.clone()).await,
            403,
            7,
            "permission_denied",
        );
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("verification code"),
            "{err}"
        );
        assert!(env.password_is(&user.id, NEW_PASSWORD).await);
        assert_eq!(env.set(via, &env.admin, id, none).await.status(), 200);
        assert!(env.password_is(&user.id, OTHER_PASSWORD).await);

        // The policy names each failed rule: Zitadel's contract states none,
        // so the NIST profile's (length and the list, no composition rule).
        let weak = json!({"newPassword": {"password": "password"}});
        let err = invalid_argument(via, &env.set(via, &env.admin, id, weak).await);
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("min_length") && message.contains("common"),
            "{err}"
        );
        assert!(!message.contains("character_classes"), "{err}");
        if via == Via::Rest {
            let details = err["details"].as_array().unwrap();
            let reasons: Vec<&str> = details
                .iter()
                .map(|d| {
                    assert_eq!(d["@type"], "type.googleapis.com/google.rpc.BadRequest");
                    d["fieldViolations"][0]["reason"].as_str().unwrap()
                })
                .collect();
            assert_eq!(reasons, ["MIN_LENGTH", "COMMON"]);
        }
        assert!(env.password_is(&user.id, OTHER_PASSWORD).await);
        // A missing or mistyped new password.
        for body in [
            json!({}),
            json!({"newPassword": {}}),
            json!({"newPassword": {"password": 5}}),
            json!({"newPassword": "x"}),
        ] {
            invalid_argument(via, &env.set(via, &env.admin, id, body).await);
        }
    }
}

async fn redeem_concurrently(app: &App, key: &str, user: &UserId, code: &str) -> Vec<(Via, Resp)> {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let app = app.clone();
        let via = BOTH[i % 2];
        let auth = format!("Bearer {key}");
        let body = with_user(via, user.as_str(), set_with_code(code));
        let req = request(
            via,
            Function::SetPassword,
            user.as_str(),
            &[JSON, ("authorization", &auth)],
            &body,
        );
        tasks.push(tokio::spawn(async move {
            (via, Function::SetPassword.handle(&app, req).await)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn exactly_one_wins(results: &[(Via, Resp)]) {
    let wins = results.iter().filter(|(_, r)| r.status() == 200).count();
    assert_eq!(wins, 1, "exactly one of 16 concurrent redemptions succeeds");
    for (via, resp) in results.iter().filter(|(_, r)| r.status() != 200) {
        failed_precondition(*via, resp);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_succeed_once() {
    let env = env().await;
    let (user, _) = env.user().await;
    let code = env.code(Via::Rest, &user.id).await;
    exactly_one_wins(&redeem_concurrently(&env.app, &env.key, &user.id, &code).await);
    assert!(env.password_is(&user.id, NEW_PASSWORD).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_code_flow_on_dynamodb() {
    let store: Arc<dyn rekey::Store> = Arc::new(dynamo_store().await);
    let config = config();
    // users:admin: the codes are asked with returnCode.
    let key = add_key(&*store, &[Scope::UsersWrite, Scope::UsersAdmin]).await;
    let app = App::new(&config, store.clone());
    let user = add_user(&*store, &config, &unique_email()).await;
    let auth = format!("Bearer {key}");
    let issue = |via: Via| {
        let body = with_user(via, user.id.as_str(), json!({"returnCode": {}}));
        Function::RequestUserReset.handle(
            &app,
            request(
                via,
                Function::RequestUserReset,
                user.id.as_str(),
                &[JSON, ("authorization", &auth)],
                &body,
            ),
        )
    };
    let first = issue(Via::Rest).await;
    let second = issue(Via::Connect).await;
    let seq = |r: &Resp| {
        details(r)["sequence"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(seq(&second) > seq(&first));
    let code = response_json(&second)["verificationCode"]
        .as_str()
        .unwrap()
        .to_string();
    assert_code_shape(&code);
    assert!(store.pending_mail(10).await.unwrap().is_empty());
    exactly_one_wins(&redeem_concurrently(&app, &key, &user.id, &code).await);
    let hash = store
        .user(&user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(matches!(
        CredentialHasher::new(config.hash_params).verify(NEW_PASSWORD, &hash),
        Verification::Match { .. }
    ));
}

#[tokio::test]
async fn a_password_change_voids_the_outstanding_code() {
    let env = env().await;
    let (user, email) = env.user().await;
    let code = env.code(Via::Connect, &user.id).await;
    // The password changes through the Unleash link flow meanwhile.
    let address = EmailAddress::parse(&email).unwrap();
    deliver_now(
        &env.app.reset,
        AddressRequest::ResetLink { entry: None },
        &address,
        &ClientInfo::default(),
    )
    .await;
    let mail = env.take_mail().await;
    assert_eq!(mail.len(), 1);
    let MailMessage::ResetLink { link, .. } = &mail[0].message else {
        panic!("a reset link mail");
    };
    let token = token_from_link_text(link);
    let body = json!({"token": token, "password": OTHER_PASSWORD}).to_string();
    let resp = Function::ResetPassword
        .handle(
            &env.app,
            apigw_request("POST", "/auth/reset/password", &[], &[JSON], Some(&body)),
        )
        .await;
    assert_eq!(resp.status(), 200);
    for via in BOTH {
        failed_precondition(
            via,
            &env.set(via, &env.key, user.id.as_str(), set_with_code(&code))
                .await,
        );
    }
    assert!(env.password_is(&user.id, OTHER_PASSWORD).await);
}

#[tokio::test]
async fn an_unreachable_store_is_503_in_each_dialect() {
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
    let auth = format!("Bearer {}", key.expose());
    let user = UserId::generate();
    let mut calls = Vec::new();
    for via in BOTH {
        for (function, body) in [
            (Function::RequestUserReset, json!({"returnCode": {}})),
            (Function::SetPassword, set_with_code("ABC123")),
        ] {
            let req = request(
                via,
                function,
                user.as_str(),
                &[JSON, ("authorization", &auth)],
                &with_user(via, user.as_str(), body),
            );
            let app = app.clone();
            calls.push(tokio::spawn(async move {
                (via, function.handle(&app, req).await)
            }));
        }
    }
    for call in calls {
        let (via, resp) = call.await.unwrap();
        let err = assert_error(via, &resp, 503, 14, "unavailable");
        assert!(
            !err["message"].as_str().unwrap().contains("127.0.0.1"),
            "{err}"
        );
    }
}

/// A code handed back sets the password: only a users:admin key may ask for
/// one. A users:write key still mails one (sendLink) and redeems one.
#[tokio::test]
async fn return_code_needs_users_admin() {
    let env = env().await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let id = user.id.as_str();
        let resp = env.reset(via, id, json!({"returnCode": {}})).await;
        let err = assert_error(via, &resp, 403, 7, "permission_denied");
        assert!(err.get("verificationCode").is_none(), "{err}");
        assert!(
            env.app
                .store()
                .reset_code(&user.id)
                .await
                .unwrap()
                .is_none(),
            "{via:?}: a refused returnCode issues no code"
        );
        assert!(env.pending().await.is_empty(), "{via:?}: and mails none");
        assert_eq!(
            env.reset(via, id, json!({"sendLink": {}})).await.status(),
            200
        );
        take_mail(env.app.store(), &env.config).await;
        let code = env.code(via, &user.id).await;
        let resp = env.set(via, &env.key, id, set_with_code(&code)).await;
        assert_eq!(resp.status(), 200, "{}", response_json(&resp));
        // The "password changed" notice.
        take_mail(env.app.store(), &env.config).await;
    }
}

/// With a history, `reused` is said only once the proof holds: a wrong code
/// or a wrong current password gets the same answer whatever the new
/// password, so it confirms no guess of the current one.
#[tokio::test]
async fn the_history_speaks_only_after_the_proof() {
    let env = env_with(&[("REKEY_PASSWORD_HISTORY", "2")]).await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let id = user.id.as_str();
        let code = env.code(via, &user.id).await;
        let wrong = if code.starts_with('A') { "B" } else { "A" };
        let wrong = format!("{wrong}{}", &code[1..]);
        let with = |password: &str, proof: Value| {
            let mut body = json!({"newPassword": {"password": password}});
            body.as_object_mut()
                .unwrap()
                .extend(proof.as_object().unwrap().clone());
            body
        };
        for proof in [
            json!({"verificationCode": wrong}),
            json!({"currentPassword": "Not-The-Current-1"}),
        ] {
            let guess = env
                .set(via, &env.key, id, with(OLD_PASSWORD, proof.clone()))
                .await;
            let other = env.set(via, &env.key, id, with(NEW_PASSWORD, proof)).await;
            assert_eq!(guess.status(), other.status(), "{via:?}");
            assert_eq!(response_json(&guess), response_json(&other), "{via:?}");
        }
        // The right code: now the rule is named.
        let resp = env
            .set(
                via,
                &env.key,
                id,
                with(OLD_PASSWORD, json!({"verificationCode": code})),
            )
            .await;
        let err = invalid_argument(via, &resp);
        assert!(err["message"].as_str().unwrap().contains("differ"), "{err}");
        let resp = env.set(via, &env.key, id, set_with_code(&code)).await;
        assert_eq!(resp.status(), 200, "{}", response_json(&resp));
    }
}

/// Guesses of the current password are limited per (account, source) and,
/// far higher, per account: past either, RESOURCE_EXHAUSTED with Retry-After.
#[tokio::test]
async fn current_password_guesses_are_limited() {
    let env = env_with(&[
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "3"),
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "100"),
    ])
    .await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let id = user.id.as_str();
        let guess = |current: &str| json!({"newPassword": {"password": NEW_PASSWORD}, "currentPassword": current});
        for n in 0..3 {
            let resp = env
                .set(via, &env.key, id, guess(&format!("Guess-{n}-x")))
                .await;
            assert_ne!(resp.status(), 429, "{via:?}: guess {n}");
            assert_ne!(resp.status(), 200, "{via:?}: guess {n}");
        }
        // Even the right password is not compared past the limit.
        let resp = env.set(via, &env.key, id, guess(OLD_PASSWORD)).await;
        assert_error(via, &resp, 429, 8, "resource_exhausted");
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
        assert!(env.password_is(&user.id, OLD_PASSWORD).await);
    }
}

/// sendLink mails count against the address's mail limits like every other
/// reset mail; past them, RESOURCE_EXHAUSTED and nothing is mailed.
#[tokio::test]
async fn send_link_has_the_per_address_mail_limits() {
    let env = env_with(&[
        ("REKEY_LIMIT_EMAIL_PER_MINUTE", "1000"),
        ("REKEY_LIMIT_EMAIL_PER_HOUR", "2"),
    ])
    .await;
    for via in BOTH {
        let (user, _) = env.user().await;
        let id = user.id.as_str();
        for _ in 0..2 {
            assert_eq!(
                env.reset(via, id, json!({"sendLink": {}})).await.status(),
                200
            );
        }
        assert_eq!(take_mail(env.app.store(), &env.config).await.len(), 2);
        let resp = env.reset(via, id, json!({"sendLink": {}})).await;
        assert_error(via, &resp, 429, 8, "resource_exhausted");
        assert!(resp.headers().contains_key("retry-after"));
        assert!(env.pending().await.is_empty(), "{via:?}: nothing mailed");
        // returnCode mails nothing, so it is not counted.
        assert_eq!(
            env.reset_admin(via, id, json!({"returnCode": {}}))
                .await
                .status(),
            200
        );
    }
}
