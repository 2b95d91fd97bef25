//! RS256 access tokens anyone can verify: discovery and the JWKS, a token
//! from reset-account checked by jsonwebtoken against the published key, and
//! the KMS adapter against moto.

use std::sync::Arc;

use crate::support::now_secs;
use lambda_http::Body;
use rekey::App;
use rekey::access_token::kms::{KmsKeys, KmsSigner};
use rekey::access_token::{AccessClaims, AccessTokenSigner, KeyState, SigningError};
use rekey::routes::Function;
use serde_json::Value;
use sha2::Digest;

use crate::support::{apigw_request, aws_config, response_json};

async fn get(app: &App, path: &str) -> lambda_http::Response<Body> {
    Function::Discovery
        .handle(app, apigw_request("GET", path, &[], &[], None))
        .await
}

/// jsonwebtoken's verdict on `token` with the JWK the JWKS route publishes
/// under its `kid`: RS256, `typ` at+jwt, issuer, audience and expiry checked.
pub async fn verify(app: &App, token: &str, iss: &str, aud: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    if header.typ.as_deref() != Some("at+jwt") || header.alg != jsonwebtoken::Algorithm::RS256 {
        return Err(format!("header {header:?}"));
    }
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(response_json(&get(app, "/.well-known/jwks.json").await))
            .map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks.find(&kid).ok_or("kid not published")?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[iss]);
    validation.set_audience(&[aud]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?,
        &validation,
    )
    .map(|data| data.claims)
    .map_err(|e| e.to_string())
}

pub async fn verify_with_jwks(app: &App, token: &str, iss: &str, aud: &str) -> Value {
    verify(app, token, iss, aud)
        .await
        .unwrap_or_else(|e| panic!("the access token does not verify: {e}"))
}

pub async fn verify_with_jwks_err(app: &App, token: &str) -> bool {
    verify(app, token, "https://api.example.com", "rekey")
        .await
        .is_err()
}

#[tokio::test]
async fn discovery_lists_the_issuer_and_keys_and_may_be_cached() {
    let t = crate::support::TestApp::embedded(crate::support::config()).await;
    let resp = get(&t.app, "/.well-known/openid-configuration").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    let doc = response_json(&resp);
    assert_eq!(doc["issuer"], "https://api.example.com");
    assert_eq!(
        doc["jwks_uri"],
        "https://api.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    for (endpoint, path) in [
        ("token_endpoint", "/oauth/token"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("userinfo_endpoint", "/oauth/userinfo"),
    ] {
        assert_eq!(doc[endpoint], format!("https://api.example.com{path}"));
    }
    assert!(rekey::routes::find("GET", "/oauth/userinfo").is_some());
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["password", "refresh_token"])
    );
    for methods in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert_eq!(
            doc[methods],
            serde_json::json!(["none", "client_secret_basic", "client_secret_post"])
        );
    }
    assert_eq!(doc["scopes_supported"], serde_json::json!(["account"]));
    let scoped = crate::support::TestApp::embedded(crate::support::config_with(&[(
        "REKEY_OAUTH_SCOPE",
        "account profile",
    )]))
    .await;
    let doc = response_json(&get(&scoped.app, "/.well-known/openid-configuration").await);
    assert_eq!(
        doc["scopes_supported"],
        serde_json::json!(["account", "profile"])
    );

    let resp = get(&t.app, "/.well-known/jwks.json").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    let keys = response_json(&resp)["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(
        keys[0]["kid"].as_str(),
        Some(crate::support::signer().key_id().await.unwrap().as_str())
    );
    assert!(keys[0].get("d").is_none(), "no private part");
}

#[tokio::test]
async fn without_a_signer_the_jwks_is_503_and_the_metadata_still_served() {
    let t = crate::support::TestApp::embedded(crate::support::config()).await;
    let unsigned = App::new(&t.config, t.store.clone());
    assert_eq!(get(&unsigned, "/.well-known/jwks.json").await.status(), 503);
    assert_eq!(
        get(&unsigned, "/.well-known/openid-configuration")
            .await
            .status(),
        200
    );
}

async fn kms_key(client: &aws_sdk_kms::Client) -> String {
    client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .description("rekey tests")
        .send()
        .await
        .expect("moto creates an RSA_2048 SIGN_VERIFY key")
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

#[tokio::test]
async fn kms_signs_tokens_its_published_key_verifies() {
    let client = aws_sdk_kms::Client::new(&aws_config().await);
    let (current, next) = (kms_key(&client).await, kms_key(&client).await);
    let signer = Arc::new(KmsSigner::new(KmsKeys::new(
        client.clone(),
        current.clone(),
        Some(next),
        None,
    )));
    let t = crate::support::TestApp::embedded(crate::support::config()).await;
    let app = App::new(&t.config, t.store.clone()).with_signer(signer.clone());

    let now = now_secs();
    let claims = AccessClaims {
        iss: "https://id.example.com".into(),
        sub: "user-1".into(),
        aud: "rekey".into(),
        exp: now + 600,
        iat: now,
        jti: "j".into(),
        client_id: "rekey".into(),
        scope: "account".into(),
        ver: 3,
    };
    let token = rekey::access_token::jwt::sign_access_token(signer.as_ref(), &claims)
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(response_json(&get(&app, "/.well-known/jwks.json").await)).unwrap();
    assert_eq!(jwks.keys.len(), 2, "current and next published");
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the token's kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    // The adapter sends SHA-256(signing input) with MessageType DIGEST,
    // which KMS signs as that digest. moto does not implement DIGEST (its
    // docs say so) and hashes what it is sent once more, so against moto
    // the signature is RS256 over the digest: checking that checks the
    // digest sent, the key and the padding. Real KMS yields a plain RS256
    // signature over the signing input.
    let (input, signature) = token.rsplit_once('.').unwrap();
    let digest = sha2::Sha256::digest(input.as_bytes());
    let as_kms = jsonwebtoken::crypto::verify(
        signature,
        input.as_bytes(),
        &key,
        jsonwebtoken::Algorithm::RS256,
    )
    .unwrap();
    let as_moto =
        jsonwebtoken::crypto::verify(signature, &digest, &key, jsonwebtoken::Algorithm::RS256)
            .unwrap();
    assert!(
        as_kms || as_moto,
        "the KMS signature verifies with the published JWK"
    );
    if as_kms {
        let verified = verify(&app, &token, "https://id.example.com", "rekey")
            .await
            .expect("a KMS-signed token verifies with the published JWK");
        assert_eq!(verified["ver"], 3);
    }
    let mut other = digest.to_vec();
    other[0] ^= 1;
    assert!(
        !jsonwebtoken::crypto::verify(signature, &other, &key, jsonwebtoken::Algorithm::RS256)
            .unwrap()
    );

    let published = signer.published_keys().await.unwrap();
    let states: Vec<_> = published.iter().map(|k| k.state).collect();
    assert_eq!(states, [KeyState::Current, KeyState::Next]);
    assert_eq!(
        published[0].key.thumbprint(),
        signer.key_id().await.unwrap()
    );
    assert_ne!(published[0].key.thumbprint(), published[1].key.thumbprint());

    // A key KMS does not have: the signer is unavailable, not a panic.
    let missing = KmsSigner::new(KmsKeys::new(
        client,
        "alias/rekey-nowhere".into(),
        None,
        None,
    ));
    assert!(matches!(
        missing.sign(b"x").await,
        Err(SigningError::Unavailable(_))
    ));
}

/// Signing an access token with KMS on moto, by the numbers (not a test of
/// speed: moto's latency is not KMS's). Run by hand and copied into
/// docs/benchmarks.md: `cargo test -p rekey --all-features --test integration
/// signing::kms_signing_latency_on_moto -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn kms_signing_latency_on_moto() {
    let client = aws_sdk_kms::Client::new(&aws_config().await);
    let key = kms_key(&client).await;
    let signer = KmsSigner::new(KmsKeys::new(client, key, None, None));
    let now = now_secs();
    let claims = AccessClaims {
        iss: "https://id.example.com".into(),
        sub: "user-1".into(),
        aud: "rekey".into(),
        exp: now + 600,
        iat: now,
        jti: "j".into(),
        client_id: "rekey".into(),
        scope: "account".into(),
        ver: 0,
    };
    // The first call also reads the public key (the kid): counted apart.
    let start = std::time::Instant::now();
    rekey::access_token::jwt::sign_access_token(&signer, &claims)
        .await
        .unwrap();
    let first = start.elapsed();
    let mut samples: Vec<std::time::Duration> = Vec::new();
    for _ in 0..100 {
        let start = std::time::Instant::now();
        rekey::access_token::jwt::sign_access_token(&signer, &claims)
            .await
            .unwrap();
        samples.push(start.elapsed());
    }
    samples.sort();
    println!(
        "KMS Sign on moto: first (GetPublicKey + Sign) {:.2} ms, then p50 {:.2} ms, p99 {:.2} ms (n = 100)",
        first.as_secs_f64() * 1000.0,
        samples[50].as_secs_f64() * 1000.0,
        samples[99].as_secs_f64() * 1000.0
    );
    assert!(samples[50] > std::time::Duration::ZERO);
}
