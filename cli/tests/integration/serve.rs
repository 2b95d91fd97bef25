//! End-to-end tests of `rekeyctl serve` over real HTTP: each test starts its
//! own server process on its own data dir and talks to it with reqwest.

use crate::support::{Mail, Server, strong_password, unknown_secret};
use rekey::password::{CredentialHasher, HashParams, Verification};
use serde_json::{Value, json};

const SUCCESS: &[u8] = br#"{"isSuccess":true,"responseText":"Success"}"#;
const AUTHRESET: &str = "/api/User/authreset";
const RESET: &str = "/auth/reset/password";
const VALIDATE_PASSWORD: &str = "/auth/reset/validate-password";

fn rule_names(details: &[Value]) -> Vec<String> {
    details
        .iter()
        .filter_map(|d| d["rule"].as_str().map(str::to_string))
        .collect()
}

fn verifies(password: &str, hash: &str) -> bool {
    matches!(
        CredentialHasher::new(HashParams::default()).verify(password, hash),
        Verification::Match { .. }
    )
}

/// The secrets one pass through the flow handled, for the log checks.
struct Flow {
    token: String,
    old_password: String,
    new_password: String,
}

/// The whole reset flow against `server`, asserting every step; leaves two
/// mails in the outbox (the link, then the change notice).
async fn reset_flow(server: &Server) -> Flow {
    let user = &server.user;
    assert!(server.mails().is_empty(), "no mail before any request");

    // 1. Request a link.
    let reply = server.request_reset(&json!({"email": user.email})).await;
    assert_eq!(reply.status, 200, "authreset: {}", reply.text());
    assert_eq!(reply.body, SUCCESS, "authreset body: {}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));

    // 2. Exactly one mail, to the account, with the link in its text part.
    let mails = server.wait_for_mails(1).await;
    assert_eq!(mails.len(), 1, "one request, one mail: {mails:?}");
    let mail = Mail::read(&mails[0]);
    assert_eq!(mail.to, user.email);
    assert!(
        mail.subject.contains("reset your password"),
        "subject {:?}",
        mail.subject
    );
    let token = mail.link_token();
    assert!(token.starts_with("rkt_"), "token {token:?}");
    assert!(
        mail.text
            .contains(&format!("{}/reset?token={token}", server.base)),
        "the link points at this server:\n{}",
        mail.text
    );

    // 3. The token names its account.
    let body = server.validate(&token).await.expect(200, "validate");
    assert_eq!(body["email"], user.email.as_str(), "{body}");
    assert_eq!(body["id"], user.id.as_str(), "{body}");
    assert_eq!(body["name"], user.name.as_str(), "{body}");

    // 4. A weak password is refused, naming each failed rule; the token
    //    stays valid.
    let details = server.reset(&token, "password").await.expect_unleash_error(
        400,
        "PasswordPolicyError",
        "reset with a weak password",
    );
    let rules = rule_names(&details);
    // reset-password applies the NIST profile: length and the list, no
    // composition rule.
    for rule in ["min_length", "common"] {
        assert!(rules.iter().any(|r| r == rule), "{rule} not in {rules:?}");
    }
    assert!(!rules.iter().any(|r| r == "character_classes"), "{rules:?}");
    for rule in &rules {
        assert!(
            [
                "min_length",
                "max_length",
                "character_classes",
                "common",
                "guessable",
                "compromised",
                "contains_email",
                "context_words",
                "reused"
            ]
            .contains(&rule.as_str()),
            "unknown rule {rule}"
        );
    }

    // 5. A strong one is set.
    let old_password = user.password.clone();
    let new_password = strong_password("New");
    let body = server
        .reset(&token, &new_password)
        .await
        .expect(200, "reset");
    assert_eq!(body, json!({}));

    // 6. The stored hash is the new password's, not the old one's.
    let stored = server.stored_user().await;
    let hash = stored.password_hash.expect("the account has a password");
    assert!(
        verifies(&new_password, &hash),
        "the new password does not verify"
    );
    assert!(
        !verifies(&old_password, &hash),
        "the old password still verifies"
    );

    // 7. The token is spent; unknown and garbage tokens are invalid.
    server
        .reset(&token, &strong_password("Again"))
        .await
        .expect_unleash_error(403, "UsedTokenError", "reset with a used token");
    server.validate(&token).await.expect_unleash_error(
        403,
        "UsedTokenError",
        "validate a used token",
    );
    let unknown = unknown_secret("rkt_");
    assert_eq!(unknown.len(), 4 + 43);
    for (what, t) in [
        ("unknown", unknown.as_str()),
        ("garbage", "not a token at all"),
    ] {
        server
            .reset(t, &strong_password("Other"))
            .await
            .expect_unleash_error(
                401,
                "InvalidTokenError",
                &format!("reset with an {what} token"),
            );
        server.validate(t).await.expect_unleash_error(
            401,
            "InvalidTokenError",
            &format!("validate an {what} token"),
        );
    }
    // None of the refused resets changed the password.
    let hash_after = server.stored_user().await.password_hash.unwrap();
    assert_eq!(hash_after, hash, "a refused reset changed the password");

    // 8. The change notice.
    let mails = server.wait_for_mails(2).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let notice = mails
        .iter()
        .map(|p| Mail::read(p))
        .find(|m| m.subject.contains("changed"))
        .expect("a \"your password was changed\" mail");
    assert_eq!(notice.to, user.email);
    assert!(
        notice.subject.contains("your password was changed"),
        "{}",
        notice.subject
    );
    assert!(
        !notice.text.contains("token="),
        "the notice carries no link token"
    );

    Flow {
        token,
        old_password,
        new_password,
    }
}

#[tokio::test]
async fn reset_flow_over_http() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("info").await;
    reset_flow(&server).await;
}

/// GET `path`, which must answer 200 JSON that may be cached.
async fn get_cached(server: &Server, path: &str) -> Value {
    let url = server.url(path);
    let resp = server.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "GET {url}");
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=300",
        "GET {url}"
    );
    resp.json::<Value>().await.unwrap()
}

/// A recovery reset over HTTP, then its access token verified as a
/// consumer would: discovery names the JWKS, jsonwebtoken checks RS256,
/// `kid`, `typ`, issuer, audience and expiry with the published key.
#[tokio::test]
async fn recovery_token_verifies_against_the_jwks_over_http() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("info").await;
    let user = &server.user;
    server
        .post_json(
            "/api/v2/account/recover/",
            &[],
            &json!({"email": user.email}),
        )
        .await
        .expect(200, "recover");
    let mail = Mail::read(&server.wait_for_mails(1).await[0]);
    let code = mail
        .text
        .split_whitespace()
        .filter_map(|word| url::Url::parse(word).ok())
        .find_map(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "validation_code")
                .map(|(_, v)| v.into_owned())
        })
        .expect("a recovery link");
    let body = server
        .post_json(
            "/api/v2/account/reset/",
            &[],
            &json!({"validation_code": code, "password": strong_password("recovered")}),
        )
        .await
        .expect(200, "reset and log in");
    let token = body["token"]["access_token"].as_str().unwrap();

    let discovery = get_cached(&server, "/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], server.base.as_str());
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
    let path = jwks_uri
        .strip_prefix(&server.base)
        .expect("the JWKS is here");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get_cached(&server, path).await).unwrap();

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().expect("a kid"))
        .expect("the token's kid is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[server.base.as_str()]);
    validation.set_audience(&["rekey"]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the access token verifies with the published key")
    .claims;
    assert_eq!(claims["sub"], user.id.as_str());
    assert_eq!(claims["client_id"], "rekey");
    let mut wrong_audience = validation.clone();
    wrong_audience.set_audience(&["someone-else"]);
    assert!(
        jsonwebtoken::decode::<Value>(
            token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &wrong_audience
        )
        .is_err()
    );
}

#[tokio::test]
async fn unknown_email_gets_the_same_answer_and_no_mail() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("info").await;
    // The unknown address first: once the known one's mail has arrived,
    // anything the first request had queued would have been delivered too.
    let unknown = server
        .request_reset(&json!({"email": "nobody.here@example.com"}))
        .await;
    let known = server
        .request_reset(&json!({"email": server.user.email}))
        .await;

    assert_eq!(known.status, 200, "{}", known.text());
    assert_eq!(known.body, SUCCESS);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body, "body bytes differ");
    let names = |r: &crate::support::Reply| {
        let mut n: Vec<String> = r.headers.keys().map(|k| k.as_str().to_string()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&unknown), names(&known), "header names differ");
    for (name, value) in &known.headers {
        if name == "date" {
            continue;
        }
        assert_eq!(
            unknown.headers.get_all(name).iter().collect::<Vec<_>>(),
            known.headers.get_all(name).iter().collect::<Vec<_>>(),
            "header {name} differs ({value:?})"
        );
    }
    assert_eq!(unknown.header("content-type"), Some("application/json"));
    assert_eq!(
        unknown.header("content-length"),
        Some(SUCCESS.len().to_string().as_str())
    );

    let mails = server.wait_for_mails(1).await;
    server.wait_for_empty_outbox_queue().await;
    let mails_now = server.mails();
    assert_eq!(
        mails_now.len(),
        1,
        "only the known address gets mail: {mails_now:?}"
    );
    assert_eq!(mails_now, mails);
    assert_eq!(Mail::read(&mails[0]).to, server.user.email);
}

#[tokio::test]
async fn request_token_is_required() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("info").await;
    let body = json!({"email": server.user.email}).to_string();
    // A real key, but without the reset:request scope.
    let wrong_scope = crate::support::rekeyctl(
        server.data_dir(),
        &["key", "create", "--scope", "users:write"],
        None,
    );
    let unknown = unknown_secret("rkk_");
    let cases: [(&str, Option<&str>); 5] = [
        ("missing", None),
        ("unknown well-formed", Some(unknown.as_str())),
        ("garbage", Some("garbage")),
        ("empty", Some("")),
        ("without the scope", Some(wrong_scope.as_str())),
    ];
    for (what, key) in cases {
        let headers: Vec<(&str, &str)> = key.map(|k| ("requestToken", k)).into_iter().collect();
        let reply = server
            .post_raw(AUTHRESET, Some("application/json"), &headers, body.clone())
            .await;
        reply.expect_payabli_error(401, &format!("{what} requestToken"));
    }
    // None of those sent mail: a good request afterwards leaves exactly one.
    let reply = server
        .request_reset(&json!({"email": server.user.email}))
        .await;
    assert_eq!(reply.body, SUCCESS, "{}", reply.text());
    server.wait_for_mails(1).await;
    server.wait_for_empty_outbox_queue().await;
    assert_eq!(server.mails().len(), 1);
}

#[derive(Clone, Copy)]
enum Dialect {
    Payabli,
    Unleash,
}

/// Asserts an error in the route's dialect (`unleash_name` for Unleash).
fn expect_error(
    reply: &crate::support::Reply,
    dialect: Dialect,
    status: u16,
    unleash_name: &str,
    context: &str,
) {
    match dialect {
        Dialect::Payabli => {
            reply.expect_payabli_error(status, context);
        }
        Dialect::Unleash => {
            reply.expect_unleash_error(status, unleash_name, context);
        }
    }
}

/// A POST route, what it needs to get past authentication, and a body it
/// accepts.
struct PostRoute<'a> {
    path: &'static str,
    dialect: Dialect,
    headers: &'a [(&'a str, &'a str)],
    good: Value,
}

#[tokio::test]
async fn post_routes_reject_bad_bodies_in_their_dialect() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("info").await;
    let key = server.api_key.clone();
    let email = server.user.email.clone();
    let key_header = [("requestToken", key.as_str())];
    let routes = [
        PostRoute {
            path: AUTHRESET,
            dialect: Dialect::Payabli,
            headers: &key_header,
            good: json!({"email": email}),
        },
        PostRoute {
            path: RESET,
            dialect: Dialect::Unleash,
            headers: &[],
            good: json!({"token": unknown_secret("rkt_"), "password": strong_password("Fine")}),
        },
        PostRoute {
            path: VALIDATE_PASSWORD,
            dialect: Dialect::Unleash,
            headers: &[],
            good: json!({"password": strong_password("Fine")}),
        },
    ];
    for route in &routes {
        let PostRoute {
            path,
            dialect,
            headers,
            good,
        } = route;
        let (path, dialect, headers) = (*path, *dialect, *headers);
        // Malformed JSON.
        for bad in ["{\"email\":", "{", "not json", "{\"a\":1} trailing", ""] {
            let reply = server
                .post_raw(path, Some("application/json"), headers, bad)
                .await;
            expect_error(
                &reply,
                dialect,
                400,
                "BadDataError",
                &format!("{path} with body {bad:?}"),
            );
        }
        // Not JSON by content type, though the body is.
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let reply = server.post_raw(path, ct, headers, good.to_string()).await;
            expect_error(
                &reply,
                dialect,
                415,
                "ContentTypeError",
                &format!("{path} as {ct:?}"),
            );
        }
        // Valid JSON over 16 KiB.
        let mut big = good.clone();
        big["padding"] = Value::String("x".repeat(20_000));
        let big = big.to_string();
        assert!(big.len() > 20_000);
        let reply = server
            .post_raw(path, Some("application/json"), headers, big)
            .await;
        expect_error(
            &reply,
            dialect,
            413,
            "ContentTooLargeError",
            &format!("{path} with 20 kB"),
        );
        // Right syntax, wrong shape.
        for bad in [
            json!({"email": 5, "token": 5, "password": 5}),
            json!([]),
            json!("s"),
            json!({}),
        ] {
            let reply = server.post_json(path, headers, &bad).await;
            expect_error(
                &reply,
                dialect,
                400,
                "BadDataError",
                &format!("{path} with {bad}"),
            );
        }
    }

    // authreset's own field rules.
    for bad in [
        json!({"email": "not-an-email"}),
        json!({"email": ""}),
        json!({"email": email, "entry": "storefront"}),
        json!({"email": email, "entry": "storefront", "entryType": 1}),
        json!({"email": email, "entryType": 1}),
        json!({"email": email, "entryType": "0"}),
    ] {
        let reply = server.request_reset(&bad).await;
        reply.expect_payabli_error(400, &format!("authreset with {bad}"));
    }
    // The accepted forms of entry/entryType.
    for good in [
        json!({"email": "nobody.here@example.com", "entryType": 0}),
        json!({"email": "nobody.here@example.com", "entry": "storefront", "entryType": 2}),
    ] {
        let reply = server.request_reset(&good).await;
        assert_eq!(
            reply.body,
            SUCCESS,
            "authreset with {good}: {}",
            reply.text()
        );
    }

    // validate-password applies the policy rule by rule.
    let details = server
        .post_json(VALIDATE_PASSWORD, &[], &json!({"password": "password"}))
        .await
        .expect_unleash_error(400, "PasswordPolicyError", "validate-password weak");
    let rules = rule_names(&details);
    assert!(
        rules.contains(&"min_length".to_string()) && rules.contains(&"common".to_string()),
        "{rules:?}"
    );
    let body = server
        .post_json(
            VALIDATE_PASSWORD,
            &[],
            &json!({"password": strong_password("Good")}),
        )
        .await
        .expect(200, "validate-password strong");
    // It says which profile applied.
    assert_eq!(body, json!({"profile": "nist-800-63b-rev4"}));

    // Validate without a token, and a route that does not exist.
    server.validate("").await.expect_unleash_error(
        401,
        "InvalidTokenError",
        "validate with an empty token",
    );
    let reply = server
        .http
        .get(server.url("/auth/reset/validate"))
        .send()
        .await
        .expect("GET validate");
    assert!(
        reply.status().is_client_error(),
        "validate without token: {}",
        reply.status()
    );
    let reply = server.post_json("/no/such/route", &[], &json!({})).await;
    assert_eq!(
        reply.expect(404, "unknown route"),
        json!({"message": "Not Found"})
    );
}

#[tokio::test]
async fn logs_carry_no_secrets() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("debug").await;
    let flow = reset_flow(&server).await;
    // Both console lines are out before the log is read.
    server
        .wait_for("both mail lines on stdout", |s| {
            let out = s.stdout();
            (out.contains("reset your password (") && out.contains("your password was changed ("))
                .then_some(())
        })
        .await;

    let stdout = server.stdout();
    let stderr = server.stderr();
    let email = server.user.email.as_str();
    // The log is really being captured: the flow's events are in it.
    for event in ["reset link issued", "password changed"] {
        assert!(stderr.contains(event), "no {event:?} in the log:\n{stderr}");
    }
    let demo_key = stdout
        .split_whitespace()
        .find(|w| w.starts_with("rkk_"))
        .expect("the demo key on stdout")
        .to_string();
    let secrets = [
        ("the link token", flow.token.as_str()),
        ("the link token's random part", &flow.token["rkt_".len()..]),
        ("the API key", server.api_key.as_str()),
        ("the demo API key", demo_key.as_str()),
        ("the old password", flow.old_password.as_str()),
        ("the new password", flow.new_password.as_str()),
        ("the email address", email),
        ("the demo email address", "demo@example.com"),
    ];
    for (what, secret) in secrets {
        assert!(!stderr.contains(secret), "{what} is in the log:\n{stderr}");
    }

    // The console shows the link by design, the address only masked, and
    // never a password of the account.
    assert!(
        stdout.contains(&flow.token),
        "the link is on the console:\n{stdout}"
    );
    assert!(stdout.contains("mail to d***@example.com: "), "{stdout}");
    for (what, secret) in [
        ("the old password", flow.old_password.as_str()),
        ("the new password", flow.new_password.as_str()),
        ("the email address", email),
    ] {
        assert!(
            !stdout.contains(secret),
            "{what} is on the console:\n{stdout}"
        );
    }
}

#[tokio::test]
async fn validate_does_not_consume_the_token() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("info").await;
    let reply = server
        .request_reset(&json!({"email": server.user.email}))
        .await;
    assert_eq!(reply.body, SUCCESS, "{}", reply.text());
    let mails = server.wait_for_mails(1).await;
    let token = Mail::read(&mails[0]).link_token();

    for i in 0..2 {
        let body = server
            .validate(&token)
            .await
            .expect(200, &format!("validate #{}", i + 1));
        assert_eq!(body["email"], server.user.email.as_str());
    }
    let password = strong_password("After");
    let body = server
        .reset(&token, &password)
        .await
        .expect(200, "reset after two validations");
    assert_eq!(body, json!({}));
    let hash = server.stored_user().await.password_hash.unwrap();
    assert!(verifies(&password, &hash));
    server.validate(&token).await.expect_unleash_error(
        403,
        "UsedTokenError",
        "validate after the reset",
    );
}

/// The default recovery link lands on the hosted page under `rekeyctl
/// serve`: `/account/reset` answers the page (its assets one level up,
/// which load), the configured continue link is in it, and opening the
/// page consumes nothing: the code then resets once.
#[tokio::test]
async fn the_recovery_link_lands_on_the_hosted_page() {
    let _machine = crate::support::sharing_the_machine().await;
    let continue_url = "http://localhost:5173/signed-in?from=rekey";
    let server = Server::start_with("info", &[("REKEY_CONTINUE_URL", continue_url)]).await;
    server
        .post_json(
            "/api/v2/account/recover/",
            &[],
            &json!({"email": server.user.email}),
        )
        .await
        .expect(200, "recover");
    let mail = Mail::read(&server.wait_for_mails(1).await[0]);
    let link = mail
        .text
        .split_whitespace()
        .filter_map(|word| url::Url::parse(word).ok())
        .find(|u| u.query_pairs().any(|(k, _)| k == "validation_code"))
        .expect("a recovery link");
    assert_eq!(
        link.as_str().split_once('?').unwrap().0,
        server.url("/account/reset"),
        "the default recovery link"
    );
    let code = link
        .query_pairs()
        .find(|(k, _)| k == "validation_code")
        .unwrap()
        .1
        .into_owned();

    let page = server.http.get(link.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    for (name, value) in rekey::contract::page::SECURITY_HEADERS {
        assert_eq!(headers[name], value, "{name}");
    }
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains("<script src=\"../reset/app.js\" defer></script>"));
    assert!(
        html.contains("<a id=\"continue\" href=\"http://localhost:5173/signed-in?from=rekey\"")
    );
    assert!(
        !html.contains(&code),
        "the page reflects nothing of the link"
    );
    // ../reset/app.js from /account/reset is the routed script.
    let script_url = link.join("../reset/app.js").unwrap();
    assert_eq!(script_url.as_str(), server.url("/reset/app.js"));
    let script = server.http.get(script_url).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.text().await.unwrap(), rekey::contract::page::SCRIPT);

    let reset = |password: String| {
        let code = code.clone();
        let server = &server;
        async move {
            server
                .post_json(
                    "/api/v2/account/reset/",
                    &[],
                    &json!({"validation_code": code, "password": password}),
                )
                .await
        }
    };
    reset(strong_password("recovered"))
        .await
        .expect(200, "the code still works after the page was opened");
    let again = reset(strong_password("again")).await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.expect(400, "the code is spent")["error"],
        "invalid_grant"
    );
}
