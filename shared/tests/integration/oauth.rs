//! The OAuth token endpoint and revocation over the route table: every
//! grant and refusal, rotation with reuse detection, the refresh race,
//! revocation, and the recovery log-in's refresh token at /oauth/token.

use std::sync::Arc;

use base64::Engine;
use lambda_http::{Body, Response};
use rekey::App;
use rekey::domain::ClientInfo;
use rekey::reset::AddressRequest;
use rekey::routes::Function;
use serde_json::Value;
use sha2::Digest;

use crate::support::*;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const ISSUER: &str = "https://api.example.com";

/// A form body from pairs, percent-encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn token(app: &App, headers: &[(&str, &str)], pairs: &[(&str, &str)]) -> Response<Body> {
    let mut all = vec![FORM];
    all.extend_from_slice(headers);
    post_to(app, Function::OAuthToken, &all, &form(pairs)).await
}

pub async fn password_grant(app: &App, email: &str, password: &str) -> Response<Body> {
    token(
        app,
        &[],
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
            ("client_id", "rekey"),
        ],
    )
    .await
}

pub async fn refresh_grant(app: &App, refresh: &str) -> Response<Body> {
    token(
        app,
        &[],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "rekey"),
        ],
    )
    .await
}

async fn revoke(app: &App, pairs: &[(&str, &str)]) -> Response<Body> {
    post_to(app, Function::OAuthRevoke, &[FORM], &form(pairs)).await
}

fn status(resp: &Response<Body>) -> u16 {
    resp.status().as_u16()
}

fn error_of(resp: &Response<Body>) -> (u16, String) {
    (
        status(resp),
        response_json(resp)["error"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

fn hex_sha256(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Clients beside the recovery one: a confidential service (Basic), one
/// that posts its secret, and a public third-party app.
fn clients_config() -> rekey::Config {
    let clients = serde_json::json!([
        {"id": "reports", "auth_method": "client_secret_basic",
         "secret_sha256": hex_sha256("reports-secret"), "scopes": ["reports:read", "reports:write"],
         "default_scope": ["reports:read"], "audience": "https://reports.example.com",
         "first_party": true},
        {"id": "poster", "auth_method": "client_secret_post",
         "secret_sha256": hex_sha256("poster-secret"), "scopes": ["account"],
         "audience": "https://poster.example.com", "first_party": true},
        {"id": "partner", "auth_method": "none", "scopes": ["account"],
         "audience": "https://partner.example.com"}
    ]);
    config_with(&[
        ("REKEY_OAUTH_CLIENTS", &clients.to_string()),
        ("REKEY_TOKEN_ISSUER", ISSUER),
    ])
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// The access token's verified claims, checked against the published key.
async fn verified_claims(app: &App, access_token: &str, audience: &str) -> Value {
    let signer = app.signer().unwrap();
    let header = jsonwebtoken::decode_header(access_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let keys = signer.published_keys().await.unwrap();
    let key = keys
        .iter()
        .find(|k| Some(k.key.thumbprint().as_str()) == header.kid.as_deref())
        .expect("the kid is published");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.key.jwk()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(
        access_token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .expect("the access token verifies")
    .claims
}

async fn the_password_grant_signs_in(store: Arc<dyn rekey::Store>) {
    let config = clients_config();
    let app = TestApp::on_store(store, config.clone());
    let email = unique_email();
    let user = add_user(&*app.store, &config, &email).await;

    let resp = password_grant(&app, &email, OLD_PASSWORD).await;
    assert_eq!(status(&resp), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["pragma"], "no-cache");
    let body = response_json(&resp);
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["scope"], "account");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("rkr_"));
    let claims = verified_claims(&app, body["access_token"].as_str().unwrap(), "rekey").await;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["client_id"], "rekey");
    assert_eq!(claims["scope"], "account");
    assert_eq!(claims["ver"], user.credential_version.0);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );

    // A confidential client over Basic: its audience, its default scope,
    // or a subset of its scopes.
    let auth = basic("reports", "reports-secret");
    let grant = |scope: Option<&'static str>| {
        let mut pairs = vec![
            ("grant_type", "password"),
            ("username", email.as_str()),
            ("password", OLD_PASSWORD),
        ];
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        pairs
    };
    let resp = token(&app, &[("authorization", &auth)], &grant(None)).await;
    assert_eq!(status(&resp), 200);
    let body = response_json(&resp);
    assert_eq!(body["scope"], "reports:read");
    let claims = verified_claims(
        &app,
        body["access_token"].as_str().unwrap(),
        "https://reports.example.com",
    )
    .await;
    assert_eq!(claims["client_id"], "reports");
    let resp = token(
        &app,
        &[("authorization", &auth)],
        &grant(Some("reports:write reports:read")),
    )
    .await;
    assert_eq!(response_json(&resp)["scope"], "reports:write reports:read");
    assert_eq!(
        error_of(&token(&app, &[("authorization", &auth)], &grant(Some("account"))).await),
        (400, "invalid_scope".into())
    );

    // client_secret_post.
    let mut pairs = grant(None);
    pairs.extend([("client_id", "poster"), ("client_secret", "poster-secret")]);
    assert_eq!(status(&token(&app, &[], &pairs).await), 200);
}
crate::on_both_stores!(the_password_grant_signs_in, the_password_grant_signs_in);

#[tokio::test]
async fn clients_are_authenticated_by_their_own_method() {
    let config = clients_config();
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    add_user(&*app.store, &config, &email).await;
    let grant = [
        ("grant_type", "password"),
        ("username", email.as_str()),
        ("password", OLD_PASSWORD),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p = grant.to_vec();
        p.extend_from_slice(extra);
        p
    };
    // Unknown, wrong secret, wrong method, none at all: 401.
    for (headers, pairs) in [
        (vec![], with(&[("client_id", "nobody")])),
        (vec![], with(&[])),
        (vec![], with(&[("client_id", "reports")])),
        (
            vec![],
            with(&[
                ("client_id", "reports"),
                ("client_secret", "reports-secret"),
            ]),
        ),
        (
            vec![],
            with(&[("client_id", "poster"), ("client_secret", "wrong")]),
        ),
        (vec![], with(&[("client_id", "poster")])),
        (
            vec![],
            with(&[("client_id", "rekey"), ("client_secret", "anything")]),
        ),
    ] {
        let resp = token(&app, &headers, &pairs).await;
        assert_eq!(error_of(&resp), (401, "invalid_client".into()), "{pairs:?}");
        assert!(!resp.headers().contains_key("www-authenticate"));
        assert_eq!(resp.headers()["cache-control"], "no-store");
    }
    // Over Basic: 401 naming the scheme.
    for auth in [
        basic("reports", "wrong"),
        basic("nobody", "reports-secret"),
        basic("poster", "poster-secret"),
        "Basic not-base64!".to_string(),
    ] {
        let resp = token(&app, &[("authorization", &auth)], &grant).await;
        assert_eq!(error_of(&resp), (401, "invalid_client".into()), "{auth}");
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    // Two methods at once: invalid_request.
    let auth = basic("reports", "reports-secret");
    let resp = token(
        &app,
        &[("authorization", &auth)],
        &with(&[("client_secret", "reports-secret")]),
    )
    .await;
    assert_eq!(error_of(&resp), (400, "invalid_request".into()));
    // A third-party client may not use the password grant.
    let resp = token(&app, &[], &with(&[("client_id", "partner")])).await;
    assert_eq!(error_of(&resp), (400, "unauthorized_client".into()));
}

/// The recovery client is public: anyone can name it. Unless the operator
/// says otherwise (`REKEY_OAUTH_CLIENT_FIRST_PARTY`), it must not open the
/// password grant when the operator's own clients are third-party.
#[tokio::test]
async fn the_password_grant_is_closed_to_clients_the_operator_did_not_allow() {
    let clients = serde_json::json!([
        {"id": "partner", "auth_method": "none", "scopes": ["account"],
         "audience": "https://partner.example.com"}
    ]);
    let config = config_with(&[
        ("REKEY_OAUTH_CLIENTS", &clients.to_string()),
        ("REKEY_TOKEN_ISSUER", ISSUER),
        ("REKEY_OAUTH_CLIENT_FIRST_PARTY", "false"),
    ]);
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    add_user(&*app.store, &config, &email).await;
    for client in ["rekey", "partner"] {
        let resp = token(
            &app,
            &[],
            &[
                ("grant_type", "password"),
                ("username", email.as_str()),
                ("password", OLD_PASSWORD),
                ("client_id", client),
            ],
        )
        .await;
        assert_eq!(
            error_of(&resp),
            (400, "unauthorized_client".into()),
            "{client}"
        );
    }
    // The recovery client still refreshes the sessions recovery starts.
    assert_eq!(
        error_of(&refresh_grant(&app, "rkr_unknown").await),
        (400, "invalid_grant".into())
    );
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let app = TestApp::embedded(config()).await;
    let send = |headers: Vec<(&'static str, &'static str)>, body: &'static str| {
        let app = &app;
        async move {
            Function::OAuthToken
                .handle(
                    app,
                    apigw_request("POST", "/oauth/token", &[], &headers, Some(body)),
                )
                .await
        }
    };
    let big =
        Box::leak(format!("grant_type=password&x={}", "a".repeat(17 * 1024)).into_boxed_str());
    for (headers, body, expected) in [
        (
            vec![("content-type", "application/json")],
            r#"{"grant_type":"password"}"#,
            (400, "invalid_request"),
        ),
        (vec![], "grant_type=password", (400, "invalid_request")),
        (
            vec![FORM],
            "grant_type=password&grant_type=refresh_token&client_id=rekey",
            (400, "invalid_request"),
        ),
        (vec![FORM], "client_id=rekey", (400, "invalid_request")),
        (
            vec![FORM],
            "grant_type=&client_id=rekey",
            (400, "invalid_request"),
        ),
        (
            vec![FORM],
            "grant_type=password&client_id=rekey",
            (400, "invalid_request"),
        ),
        (
            vec![FORM],
            "grant_type=password&client_id=rekey&username=a%40b.example",
            (400, "invalid_request"),
        ),
        (
            vec![FORM],
            "grant_type=%ZZ&client_id=rekey",
            (400, "invalid_request"),
        ),
        (
            vec![FORM],
            "grant_type=%C3%28&client_id=rekey",
            (400, "invalid_request"),
        ),
        (
            vec![FORM],
            "grant_type=client_credentials&client_id=rekey",
            (400, "unsupported_grant_type"),
        ),
        (
            vec![FORM],
            "grant_type=authorization_code&client_id=rekey&code=x",
            (400, "unsupported_grant_type"),
        ),
        (
            vec![FORM],
            "grant_type=refresh_token&client_id=rekey",
            (400, "invalid_request"),
        ),
        (
            vec![FORM],
            "grant_type=refresh_token&client_id=rekey&refresh_token=garbage",
            (400, "invalid_grant"),
        ),
        (
            vec![(
                "content-type",
                "application/x-www-form-urlencoded; charset=UTF-8",
            )],
            "grant_type=password&client_id=rekey&username=nobody%40example.com&password=x&scope=admin",
            (400, "invalid_scope"),
        ),
        (vec![FORM], big, (413, "invalid_request")),
    ] {
        let resp = send(headers.clone(), body).await;
        assert_eq!(
            error_of(&resp),
            (expected.0, expected.1.to_string()),
            "{headers:?} {}",
            &body[..body.len().min(80)]
        );
        assert_eq!(resp.headers()["cache-control"], "no-store");
        assert_eq!(resp.headers()["pragma"], "no-cache");
        assert!(response_json(&resp)["error_description"].is_string());
    }
    // Revocation: the same form rules, and a token is required.
    for (headers, body, expected) in [
        (
            vec![("content-type", "application/json")],
            "{}",
            (400, "invalid_request"),
        ),
        (vec![FORM], "client_id=rekey", (400, "invalid_request")),
        (
            vec![FORM],
            "token=a&token=b&client_id=rekey",
            (400, "invalid_request"),
        ),
        (vec![FORM], "token=a", (401, "invalid_client")),
        (
            vec![FORM],
            "token=a&client_id=nobody",
            (401, "invalid_client"),
        ),
    ] {
        let resp = Function::OAuthRevoke
            .handle(
                &app,
                apigw_request("POST", "/oauth/revoke", &[], &headers, Some(body)),
            )
            .await;
        assert_eq!(
            error_of(&resp),
            (expected.0, expected.1.to_string()),
            "{body}"
        );
    }
}

/// Wrong password, unknown address and disabled account: one answer.
#[tokio::test]
async fn wrong_unknown_and_disabled_answer_alike() {
    let config = config();
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    add_user(&*app.store, &config, &email).await;
    let disabled = unique_email();
    let d = add_user(&*app.store, &config, &disabled).await;
    app.store.set_user_disabled(&d.id, true).await.unwrap();

    let mut answers = Vec::new();
    for (who, password) in [
        (email.as_str(), "Wrong-Horse-42-Battery"),
        ("nobody-here@example.com", "Wrong-Horse-42-Battery"),
        ("not an address", "Wrong-Horse-42-Battery"),
        (disabled.as_str(), OLD_PASSWORD),
    ] {
        let resp = password_grant(&app, who, password).await;
        let mut headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        headers.sort();
        answers.push((status(&resp), headers, resp.body().as_ref().to_vec()));
    }
    assert_eq!(answers[0].0, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&answers[0].2).unwrap()["error"],
        "invalid_grant"
    );
    for other in &answers[1..] {
        assert_eq!(other, &answers[0]);
    }
}

/// Per account and source, then per account; unknown addresses are
/// counted the same way, so the 429 reveals nothing.
#[tokio::test]
async fn password_guesses_are_throttled_per_account_and_source() {
    let config = config_with(&[
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "3"),
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "1000"),
    ]);
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    add_user(&*app.store, &config, &email).await;
    for who in [email.as_str(), "nobody-here@example.com"] {
        for _ in 0..3 {
            assert_eq!(
                error_of(&password_grant(&app, who, "Wrong-Horse-42").await),
                (400, "invalid_grant".into())
            );
        }
        let resp = password_grant(&app, who, "Wrong-Horse-42").await;
        assert_eq!(
            error_of(&resp),
            (429, "temporarily_unavailable".into()),
            "{who}"
        );
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=3600).contains(&retry));
    }
    // The owner, from another source, still signs in.
    let other_source = apigw_request(
        "POST",
        "/oauth/token",
        &[],
        &[FORM],
        Some(&form(&[
            ("grant_type", "password"),
            ("username", &email),
            ("password", OLD_PASSWORD),
            ("client_id", "rekey"),
        ])),
    );
    let resp = app
        .handle(
            Function::OAuthToken,
            with_source(other_source, "203.0.113.50"),
        )
        .await;
    assert_eq!(status(&resp), 200);
}

/// Strangers from a few IPv6 /64s spend the account's hourly comparisons
/// and the owner's right password gets 429. A reset proving control of the
/// mailbox starts the account's counters afresh (they are kept per
/// credential version), so the new password signs in at once.
#[tokio::test]
async fn a_mailbox_proof_restores_sign_in_at_once() {
    let config = config_with(&[
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "2"),
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "6"),
    ]);
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    let user = add_user(&*app.store, &config, &email).await;
    let sign_in_from = |password: &'static str, ip: String| {
        let app = &app;
        let email = email.clone();
        async move {
            let req = apigw_request(
                "POST",
                "/oauth/token",
                &[],
                &[FORM],
                Some(&form(&[
                    ("grant_type", "password"),
                    ("username", &email),
                    ("password", password),
                    ("client_id", "rekey"),
                ])),
            );
            error_of(
                &app.handle(Function::OAuthToken, with_source(req, &ip))
                    .await,
            )
        }
    };
    for net in 0..3 {
        for host in 0..2 {
            assert_eq!(
                sign_in_from("Wrong-Horse-42", format!("2001:db8:0:{net}::{host}")).await,
                (400, "invalid_grant".into())
            );
        }
    }
    assert_eq!(
        sign_in_from(OLD_PASSWORD, "198.51.100.7".into()).await,
        (429, "temporarily_unavailable".into()),
        "the strangers spent the account's comparisons"
    );
    deliver_now(
        &app.reset,
        AddressRequest::Recovery,
        &user.email,
        &ClientInfo::default(),
    )
    .await;
    let link = app.take_link().await;
    let code = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "validation_code")
        .unwrap()
        .1
        .into_owned();
    let resp = post_to(
        &app,
        Function::ResetAccount,
        &[("content-type", "application/json")],
        &serde_json::json!({"validation_code": code, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status(&resp), 200);
    let (status_code, _) = sign_in_from(NEW_PASSWORD, "198.51.100.7".into()).await;
    assert_eq!(status_code, 200, "the reset restored sign-in");
    // The strangers' sources are fresh too, but each still has its share
    // only: the account's ceiling again bounds them.
    assert_eq!(
        sign_in_from("Wrong-Horse-42", "2001:db8:0:0::1".into()).await,
        (400, "invalid_grant".into())
    );
}

/// The request as it arrives from another source address.
fn with_source(req: lambda_http::Request, ip: &str) -> lambda_http::Request {
    use lambda_http::RequestExt;
    let mut ctx = req.request_context();
    if let lambda_http::request::RequestContext::ApiGatewayV2(ref mut c) = ctx {
        c.http.source_ip = Some(ip.to_string());
    }
    req.with_request_context(ctx)
}

#[tokio::test]
async fn imported_hashes_sign_in_and_are_rehashed() {
    let config = config();
    let app = TestApp::embedded(config.clone()).await;
    for hash in [bcrypt_hash(IMPORTED), django_hash(IMPORTED)] {
        let email = unique_email();
        let user = add_user(&*app.store, &config, &email).await;
        app.store
            .update_password_hash(&user.id, user.password_hash.as_deref().unwrap(), &hash)
            .await
            .unwrap();
        let resp = password_grant(&app, &email, IMPORTED).await;
        assert_eq!(status(&resp), 200);
        let stored = app.store.user(&user.id).await.unwrap().unwrap();
        assert!(
            stored
                .password_hash
                .as_deref()
                .unwrap()
                .starts_with("$argon2id$")
        );
        assert_eq!(status(&password_grant(&app, &email, IMPORTED).await), 200);
    }
}

async fn refresh_rotates_and_reuse_revokes_the_family(store: Arc<dyn rekey::Store>) {
    let config = clients_config();
    let app = TestApp::on_store(store, config.clone());
    let email = unique_email();
    add_user(&*app.store, &config, &email).await;
    let first = response_json(&password_grant(&app, &email, OLD_PASSWORD).await);
    let first = first["refresh_token"].as_str().unwrap().to_string();

    let resp = refresh_grant(&app, &first).await;
    assert_eq!(status(&resp), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body = response_json(&resp);
    let second = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(body["scope"], "account");
    verified_claims(&app, body["access_token"].as_str().unwrap(), "rekey").await;

    // Another client cannot use it; widening the scope is refused.
    let auth = basic("reports", "reports-secret");
    let resp = token(
        &app,
        &[("authorization", &auth)],
        &[("grant_type", "refresh_token"), ("refresh_token", &second)],
    )
    .await;
    assert_eq!(error_of(&resp), (400, "invalid_grant".into()));
    let resp = token(
        &app,
        &[],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &second),
            ("client_id", "rekey"),
            ("scope", "account admin"),
        ],
    )
    .await;
    assert_eq!(error_of(&resp), (400, "invalid_scope".into()));

    // The first token again: reuse. Its whole family dies, the second too.
    assert_eq!(
        error_of(&refresh_grant(&app, &first).await),
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(&refresh_grant(&app, &second).await),
        (400, "invalid_grant".into()),
        "the successor of a reused token is revoked with its family"
    );
    // Another sign-in is another family.
    let other = response_json(&password_grant(&app, &email, OLD_PASSWORD).await);
    assert_eq!(
        status(&refresh_grant(&app, other["refresh_token"].as_str().unwrap()).await),
        200
    );
}
crate::on_both_stores!(
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_rotates_and_reuse_revokes_the_family
);

async fn one_of_32_concurrent_refreshes_wins(store: Arc<dyn rekey::Store>) {
    let config = config();
    let app = Arc::new(TestApp::on_store(store, config.clone()));
    let email = unique_email();
    add_user(&*app.store, &config, &email).await;
    let body = response_json(&password_grant(&app, &email, OLD_PASSWORD).await);
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (app, refresh, barrier) = (app.clone(), refresh.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = refresh_grant(&app, &refresh).await;
                (status(&resp), response_json(&resp))
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => won += 1,
            400 => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("a refresh answered {other}: {body}"),
        }
    }
    assert_eq!(won, 1, "exactly one of 32 concurrent refreshes wins");
}
crate::on_both_stores!(
    one_of_32_concurrent_refreshes_wins,
    one_of_32_concurrent_refreshes_wins,
    4
);

async fn revocation_revokes_the_family(store: Arc<dyn rekey::Store>) {
    let config = clients_config();
    let app = TestApp::on_store(store, config.clone());
    let email = unique_email();
    add_user(&*app.store, &config, &email).await;
    let body = response_json(&password_grant(&app, &email, OLD_PASSWORD).await);
    let first = body["refresh_token"].as_str().unwrap().to_string();
    let access = body["access_token"].as_str().unwrap().to_string();
    let rotated = response_json(&refresh_grant(&app, &first).await);
    let second = rotated["refresh_token"].as_str().unwrap().to_string();

    // Another client's revocation changes nothing (and says nothing).
    let auth = basic("reports", "reports-secret");
    let resp = post_to(
        &app,
        Function::OAuthRevoke,
        &[FORM, ("authorization", &auth)],
        &form(&[("token", &second)]),
    )
    .await;
    assert_eq!(status(&resp), 200);
    assert!(resp.body().is_empty());

    for pairs in [
        vec![("token", access.as_str()), ("client_id", "rekey")],
        vec![("token", "rkr_unknown"), ("client_id", "rekey")],
        vec![
            ("token", "anything at all"),
            ("client_id", "rekey"),
            ("token_type_hint", "access_token"),
        ],
        vec![
            ("token", second.as_str()),
            ("client_id", "rekey"),
            ("token_type_hint", "refresh_token"),
        ],
        // Again: already revoked is still 200.
        vec![("token", second.as_str()), ("client_id", "rekey")],
        vec![
            ("token", first.as_str()),
            ("client_id", "rekey"),
            ("token_type_hint", "made_up"),
        ],
    ] {
        let resp = revoke(&app, &pairs).await;
        assert_eq!(status(&resp), 200, "{pairs:?}");
        assert!(resp.body().is_empty());
        assert_eq!(resp.headers()["cache-control"], "no-store");
    }
    assert_eq!(
        error_of(&refresh_grant(&app, &second).await),
        (400, "invalid_grant".into())
    );
    assert_eq!(
        error_of(&revoke(&app, &[("token", "x"), ("client_id", "nobody")]).await),
        (401, "invalid_client".into())
    );
}
crate::on_both_stores!(revocation_revokes_the_family, revocation_revokes_the_family);

/// The refresh token the recovery log-in answers with works here.
async fn the_recovery_refresh_token_works_here(store: Arc<dyn rekey::Store>) {
    let config = config();
    let app = TestApp::on_store(store, config.clone());
    let email = unique_email();
    let user = add_user(&*app.store, &config, &email).await;
    deliver_now(
        &app.reset,
        AddressRequest::Recovery,
        &user.email,
        &ClientInfo::default(),
    )
    .await;
    let link = app.take_link().await;
    let code = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "validation_code")
        .unwrap()
        .1
        .into_owned();
    let resp = post_to(
        &app,
        Function::ResetAccount,
        &[("content-type", "application/json")],
        &serde_json::json!({"validation_code": code, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status(&resp), 200);
    let refresh = response_json(&resp)["token"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = refresh_grant(&app, &refresh).await;
    assert_eq!(status(&resp), 200);
    let body = response_json(&resp);
    assert_eq!(body["scope"], "account");
    // Rotated: the recovery token is spent.
    assert_eq!(
        error_of(&refresh_grant(&app, &refresh).await),
        (400, "invalid_grant".into())
    );
    // And the new password signs in.
    assert_eq!(
        status(&password_grant(&app, &email, NEW_PASSWORD).await),
        200
    );
}
crate::on_both_stores!(
    the_recovery_refresh_token_works_here,
    the_recovery_refresh_token_works_here
);
