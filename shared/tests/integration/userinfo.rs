//! `GET|POST /oauth/userinfo` on both stores: a valid access token answers
//! its account; every way an attacker might bend a token is a 401 with
//! RFC 6750's `invalid_token` challenge; a token issued before the last
//! password change, or for a disabled account, is refused too.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use lambda_http::{Body, Response};
use rekey::App;
use rekey::access_token::jwt::sign_access_token;
use rekey::access_token::local::LocalSigner;
use rekey::access_token::{AccessClaims, AccessTokenSigner, KeyState, PublishedKey, SigningError};
use rekey::domain::{EmailAddress, User};
use rekey::reset::AddressRequest;
use rekey::routes::Function;
use rekey::store::Store;
use serde_json::{Value, json};

use crate::support::*;

const ISSUER: &str = "https://api.example.com";
const JSON: (&str, &str) = ("content-type", "application/json");
const INVALID_TOKEN: &str = r#"Bearer error="invalid_token""#;

async fn get(app: &App, headers: &[(&str, &str)]) -> Response<Body> {
    Function::OAuthUserinfo
        .handle(
            app,
            apigw_request("GET", "/oauth/userinfo", &[], headers, None),
        )
        .await
}

async fn with_bearer(app: &App, token: &str) -> Response<Body> {
    get(app, &[("authorization", &format!("Bearer {token}"))]).await
}

fn challenge(resp: &Response<Body>) -> Option<&str> {
    resp.headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
}

/// A 401 that says `invalid_token` and nothing more.
fn assert_refused(resp: &Response<Body>, what: &str) {
    assert_eq!(resp.status(), 401, "{what}");
    assert_eq!(challenge(resp), Some(INVALID_TOKEN), "{what}");
    assert_eq!(
        response_json(resp),
        json!({"error": "invalid_token"}),
        "{what}"
    );
}

fn claims_for(user: &User, now: i64) -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        sub: user.id.to_string(),
        aud: "rekey".into(),
        exp: now + 600,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: "rekey".into(),
        scope: "account".into(),
        ver: user.credential_version.0,
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The signer's key as an SPKI PEM, what an attacker would download and
/// use as an HMAC secret.
fn public_pem(key: &rekey::access_token::RsaPublicKey) -> String {
    use rsa::pkcs8::EncodePublicKey;
    rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&key.n),
        rsa::BigUint::from_bytes_be(&key.e),
    )
    .unwrap()
    .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
    .unwrap()
}

fn hs256(secret: &[u8], input: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

async fn userinfo_answers_valid_tokens_and_refuses_every_bent_one(store: Arc<dyn Store>) {
    let t = TestApp::on_store(store, config());
    let signer = signer();
    let user = add_user(&*t.store, &t.config, &unique_email()).await;
    let now = now_secs();
    let sign = |c: AccessClaims| {
        let signer = signer.clone();
        async move { sign_access_token(signer.as_ref(), &c).await.unwrap() }
    };

    let good = sign(claims_for(&user, now)).await;
    let resp = with_bearer(&t, &good).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(
        response_json(&resp),
        json!({"sub": user.id.as_str(), "email": user.email.as_str(), "name": "Ada Lovelace"})
    );
    // The scheme is case-insensitive (RFC 7235).
    let lower = get(&t, &[("authorization", &format!("bearer {good}"))]).await;
    assert_eq!(lower.status(), 200);

    // No token at all: a bare challenge, no error code (RFC 6750 3.1).
    for headers in [&[][..], &[("authorization", "Basic dXNlcjpwYXNz")][..]] {
        let resp = get(&t, headers).await;
        assert_eq!(resp.status(), 401);
        assert_eq!(challenge(&resp), Some("Bearer"));
    }

    for (what, claims) in [
        (
            "expired",
            AccessClaims {
                exp: now - 120,
                iat: now - 720,
                ..claims_for(&user, now)
            },
        ),
        (
            "another issuer",
            AccessClaims {
                iss: "https://evil.example".into(),
                ..claims_for(&user, now)
            },
        ),
        (
            "another audience",
            AccessClaims {
                aud: "someone-else".into(),
                ..claims_for(&user, now)
            },
        ),
        (
            "issued in the future",
            AccessClaims {
                iat: now + 3600,
                exp: now + 4200,
                ..claims_for(&user, now)
            },
        ),
        (
            "an unknown account",
            AccessClaims {
                sub: "nobody-here".into(),
                ..claims_for(&user, now)
            },
        ),
        (
            "a credential version ahead",
            AccessClaims {
                ver: user.credential_version.0 + 1,
                ..claims_for(&user, now)
            },
        ),
    ] {
        assert_refused(&with_bearer(&t, &sign(claims).await).await, what);
    }

    let kid = signer.key_id().await.unwrap();
    let payload = b64(&serde_json::to_value(claims_for(&user, now)).unwrap());
    let (_, signature) = good.rsplit_once('.').unwrap();

    // alg none, with and without a signature.
    let none = b64(&json!({"alg": "none", "typ": "at+jwt", "kid": kid}));
    for token in [
        format!("{none}.{payload}."),
        format!("{none}.{payload}.{signature}"),
    ] {
        assert_refused(&with_bearer(&t, &token).await, "alg none");
    }

    // HS256 keyed with the public key's bytes, the classic confusion: the
    // PEM, the modulus, the JWK as published.
    let published = signer.published_keys().await.unwrap();
    let key = &published[0].key;
    let hs = b64(&json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}));
    let input = format!("{hs}.{payload}");
    for secret in [
        public_pem(key).into_bytes(),
        key.n.clone(),
        key.jwk().to_string().into_bytes(),
    ] {
        let token = format!("{input}.{}", hs256(&secret, &input));
        assert_refused(&with_bearer(&t, &token).await, "HS256 with the public key");
    }

    // A kid that is not published, and a key that is not ours.
    let header = b64(&json!({"alg": "RS256", "typ": "at+jwt", "kid": "rotated-away"}));
    assert_refused(
        &with_bearer(&t, &format!("{header}.{payload}.{signature}")).await,
        "unknown kid",
    );
    let stranger = LocalSigner::ephemeral().unwrap();
    let theirs = sign_access_token(&stranger, &claims_for(&user, now))
        .await
        .unwrap();
    assert_refused(&with_bearer(&t, &theirs).await, "another key");

    // The payload swapped under the same header and signature.
    let (header, _) = good.split_once('.').unwrap();
    let mut forged = serde_json::to_value(claims_for(&user, now)).unwrap();
    forged["sub"] = "admin".into();
    assert_refused(
        &with_bearer(&t, &format!("{header}.{}.{signature}", b64(&forged))).await,
        "tampered payload",
    );
    // One flipped bit in the signature.
    let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
    sig[10] ^= 1;
    let flipped = format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        URL_SAFE_NO_PAD.encode(sig)
    );
    assert_refused(&with_bearer(&t, &flipped).await, "flipped signature");
    for junk in ["x", "a.b.c", "....", "%00"] {
        let resp = with_bearer(&t, junk).await;
        assert!(
            matches!(resp.status().as_u16(), 400 | 401),
            "{junk:?}: {}",
            resp.status()
        );
    }

    // A disabled account: refused even under its current credential
    // version (disabling moves it on, so tokens from before stay void
    // once it is enabled again).
    t.store.set_user_disabled(&user.id, true).await.unwrap();
    let disabled = t.store.user(&user.id).await.unwrap().unwrap();
    assert!(disabled.disabled);
    let current = sign(claims_for(&disabled, now)).await;
    assert_refused(&with_bearer(&t, &current).await, "disabled account");
    assert_refused(&with_bearer(&t, &good).await, "disabled account");
    t.store.set_user_disabled(&user.id, false).await.unwrap();
    assert_eq!(with_bearer(&t, &current).await.status(), 200);
    assert_refused(&with_bearer(&t, &good).await, "from before the disabling");
    let good = current;

    // POST: the token as the form field (RFC 6750 2.2), or the header.
    let form = ("content-type", "application/x-www-form-urlencoded");
    let post = |headers: Vec<(String, String)>, body: String| {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        apigw_request("POST", "/oauth/userinfo", &[], &headers, Some(&body))
    };
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let resp = t
        .handle(
            Function::OAuthUserinfo,
            post(owned(&[form]), format!("access_token={good}")),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let bearer = format!("Bearer {good}");
    let resp = t
        .handle(
            Function::OAuthUserinfo,
            post(owned(&[JSON, ("authorization", &bearer)]), "{}".into()),
        )
        .await;
    assert_eq!(resp.status(), 200, "the header on a POST");
    // Both at once is a malformed request (RFC 6750 section 2).
    let resp = t
        .handle(
            Function::OAuthUserinfo,
            post(
                owned(&[form, ("authorization", &bearer)]),
                format!("access_token={good}"),
            ),
        )
        .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(challenge(&resp), Some(r#"Bearer error="invalid_request""#));
    // Never from the query string.
    let resp = Function::OAuthUserinfo
        .handle(
            &t,
            apigw_request(
                "GET",
                "/oauth/userinfo",
                &[("access_token", &good)],
                &[],
                None,
            ),
        )
        .await;
    assert_eq!(
        (resp.status().as_u16(), challenge(&resp)),
        (401, Some("Bearer"))
    );
}
crate::on_both_stores!(
    userinfo_answers_and_refuses,
    userinfo_answers_valid_tokens_and_refuses_every_bent_one
);

async fn a_password_change_voids_earlier_tokens(store: Arc<dyn Store>) {
    let t = TestApp::on_store(store, config());
    let email = unique_email();
    let user = add_user(&*t.store, &t.config, &email).await;
    let address = EmailAddress::parse(&email).unwrap();

    // Log in through account recovery (reset-account signs the token).
    deliver_now(
        &t.reset,
        AddressRequest::Recovery,
        &address,
        &Default::default(),
    )
    .await;
    let code = link_param(&t.take_link().await, "validation_code");
    let resp = t
        .post(
            Function::ResetAccount,
            &[JSON],
            &json!({"validation_code": code, "password": "Fresh-Horse-42-Battery"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let access = response_json(&resp)["token"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = with_bearer(&t, &access).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(response_json(&resp)["sub"], user.id.as_str());

    // Another contract (Unleash's reset by link) changes the password.
    deliver_now(
        &t.reset,
        AddressRequest::ResetLink { entry: None },
        &address,
        &Default::default(),
    )
    .await;
    let token = link_param(&t.take_link().await, "token");
    let resp = t
        .post(
            Function::ResetPassword,
            &[JSON],
            &json!({"token": token, "password": "Third-Lantern-77-Orbit"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_refused(
        &with_bearer(&t, &access).await,
        "a token from before the last password change",
    );
}
crate::on_both_stores!(
    password_change_voids_tokens,
    a_password_change_voids_earlier_tokens
);

/// Signs with `current`; publishes it and `previous`, as during the
/// rotation's second step.
struct Rotated {
    current: Arc<LocalSigner>,
    previous: LocalSigner,
}

#[async_trait]
impl AccessTokenSigner for Rotated {
    async fn key_id(&self) -> Result<String, SigningError> {
        self.current.key_id().await
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SigningError> {
        self.current.sign(signing_input).await
    }

    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError> {
        let current = self.current.published_keys().await?.remove(0).key;
        let previous = self.previous.published_keys().await?.remove(0).key;
        Ok(vec![
            PublishedKey {
                state: KeyState::Current,
                key: current,
            },
            PublishedKey {
                state: KeyState::Previous,
                key: previous,
            },
        ])
    }
}

async fn a_token_of_the_previous_key_verifies_while_it_is_published(store: Arc<dyn Store>) {
    let config = config();
    let previous = LocalSigner::ephemeral().unwrap();
    let user = add_user(&*store, &config, &unique_email()).await;
    let old = sign_access_token(&previous, &claims_for(&user, now_secs()))
        .await
        .unwrap();
    let rotated = Arc::new(Rotated {
        current: Arc::new(LocalSigner::ephemeral().unwrap()),
        previous,
    });
    let app = App::new(&config, store.clone()).with_signer(rotated.clone());
    let resp = with_bearer(&app, &old).await;
    assert_eq!(resp.status(), 200, "the previous key is still published");
    let fresh = sign_access_token(rotated.as_ref(), &claims_for(&user, now_secs()))
        .await
        .unwrap();
    assert_eq!(with_bearer(&app, &fresh).await.status(), 200);

    // Once the previous key is no longer published, its tokens are refused.
    let after = App::new(&config, store).with_signer(rotated.current.clone());
    assert_refused(
        &with_bearer(&after, &old).await,
        "a key no longer published",
    );
}
crate::on_both_stores!(
    previous_key_tokens_verify,
    a_token_of_the_previous_key_verifies_while_it_is_published
);

#[tokio::test]
async fn an_outage_is_503_not_a_refusal() {
    let config = config();
    let user = User::new(
        rekey::domain::UserId::generate(),
        EmailAddress::parse(&unique_email()).unwrap(),
        now(),
    );
    let token = sign_access_token(signer().as_ref(), &claims_for(&user, now_secs()))
        .await
        .unwrap();
    let app = App::new(&config, Arc::new(unreachable_store().await)).with_signer(signer());
    let resp = with_bearer(&app, &token).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("www-authenticate"), None);

    // No key set: 503 too (the operator's to fix), not a refusal.
    let e = embedded_store();
    let unsigned = App::new(&config, Arc::new(e.store.clone()));
    assert_eq!(with_bearer(&unsigned, &token).await.status(), 503);
}

/// A token the token endpoint issued to a configured client, for that
/// client's own API (`aud`), speaks for its account here too; an
/// audience no client has is still refused.
#[tokio::test]
async fn tokens_of_every_configured_client_are_answered() {
    let clients = json!([{"id": "web", "auth_method": "none", "scopes": ["account"],
        "audience": "https://web-api.example.com", "first_party": true}]);
    let config = config_with(&[
        ("REKEY_OAUTH_CLIENTS", &clients.to_string()),
        ("REKEY_TOKEN_ISSUER", ISSUER),
    ]);
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    let user = add_user(&*app.store, &config, &email).await;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", email.as_str()),
            ("password", OLD_PASSWORD),
        ])
        .finish();
    let resp = post_to(
        &app,
        Function::OAuthToken,
        &[("content-type", "application/x-www-form-urlencoded")],
        form.as_str(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let access = response_json(&resp)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = with_bearer(&app, &access).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(response_json(&resp)["sub"], user.id.as_str());

    // The same app without that client: its audience is nobody's.
    let bare = TestApp::on_store(
        app.store.clone(),
        config_with(&[("REKEY_TOKEN_ISSUER", ISSUER)]),
    );
    let resp = with_bearer(&bare, &access).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(challenge(&resp), Some(INVALID_TOKEN));
}
