//! Measures what scripts/bench reports from inside the process: warm
//! handler latency with the embedded store, and argon2id at the configured
//! parameters. Prints one JSON object on stdout.
//!
//! cargo run --release -p rekey --example warm_latency --features embedded -- 1000
//!
//! With a second argument `argon2`, only argon2id: scripts/bench builds that
//! run at the opt-level the hashing functions link at (see Cargo.toml).
//!
//! With the `local-signer` feature too, sign-in at `POST /oauth/token` split
//! into argon2id, store calls and signing (a local key).

// Measurement code: a failed unwrap or expect stops the run, as it should.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::Body;
use rekey::App;
use rekey::config::{Config, EnvReader};
use rekey::crypto::ServiceSecret;
use rekey::domain::{EmailAddress, Scope, UnixTime, User, UserId};
use rekey::password::{CredentialHasher, NewPassword};
use rekey::routes::Function;
use serde_json::json;

fn config() -> Config {
    let secret = ServiceSecret::generate().1;
    let mut env = EnvReader::new(move |k| match k {
        "REKEY_SECRET" => Some(secret.clone()),
        "REKEY_RESET_URL" => Some("https://app.example.com/reset?token={token}".into()),
        // Measuring, not limiting.
        k if k.starts_with("REKEY_LIMIT_") => Some("1000000000".into()),
        _ => std::env::var(k).ok(),
    });
    let config = Config::read(&mut env);
    env.finish().expect("configuration");
    config.unwrap()
}

fn post(path: &str, headers: &[(&str, &str)], body: serde_json::Value) -> lambda_http::Request {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::Text(body.to_string())).unwrap()
}

fn percentiles(mut samples: Vec<Duration>) -> serde_json::Value {
    samples.sort();
    let at = |p: f64| {
        samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)].as_secs_f64() * 1000.0
    };
    json!({"p50_ms": at(0.50), "p99_ms": at(0.99), "n": samples.len()})
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let config = config();
    let mut results = serde_json::Map::new();
    if std::env::args().nth(2).as_deref() == Some("argon2") {
        measure_argon2(&config, &mut results);
        println!("{}", serde_json::Value::Object(results));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = rekey::store::embedded::EmbeddedStore::open(&dir.path().join("rekey.db")).unwrap();
    let app = App::new(&config, Arc::new(store));
    let raw_key = rekey::crypto::BearerSecret::generate(rekey::crypto::API_KEY_PREFIX);
    app.store()
        .insert_api_key(&rekey::domain::ApiKey {
            digest: raw_key.digest(),
            name: "bench".into(),
            scopes: vec![Scope::ResetRequest],
            created_at: UnixTime::EPOCH,
            revoked: false,
            org: Default::default(),
        })
        .await
        .unwrap();
    let mut emails = Vec::new();
    for i in 0..iterations {
        let email = format!("bench-{i}@example.com");
        let user = User::new(
            UserId::generate(),
            EmailAddress::parse(&email).unwrap(),
            UnixTime::EPOCH,
        );
        app.store().insert_user(&user).await.unwrap();
        emails.push(email);
    }

    let key = raw_key.expose().to_string();
    type MakeRequest<'a> = Box<dyn Fn(usize) -> (Function, lambda_http::Request) + 'a>;
    let cases: Vec<(&str, MakeRequest)> = vec![
        (
            "request-reset (known address, embedded store)",
            Box::new(|i| {
                (
                    Function::RequestReset,
                    post(
                        "/api/User/authreset",
                        &[("requestToken", &key)],
                        json!({"email": emails[i]}),
                    ),
                )
            }),
        ),
        (
            "request-reset (unknown address, embedded store)",
            Box::new(|i| {
                (
                    Function::RequestReset,
                    post(
                        "/api/User/authreset",
                        &[("requestToken", &key)],
                        json!({"email": format!("nobody-{i}@example.com")}),
                    ),
                )
            }),
        ),
        (
            "validate-password (no store)",
            Box::new(|_| {
                (
                    Function::ValidatePassword,
                    post(
                        "/auth/reset/validate-password",
                        &[],
                        json!({"password": "Fresh-Horse-42-Battery"}),
                    ),
                )
            }),
        ),
        (
            "reset-password, malformed token (no store)",
            Box::new(|_| {
                (
                    Function::ResetPassword,
                    post(
                        "/auth/reset/password",
                        &[],
                        json!({"token": "x", "password": "Fresh-Horse-42-Battery"}),
                    ),
                )
            }),
        ),
        (
            "request-reset, bad key (no store)",
            Box::new(|_| {
                (
                    Function::RequestReset,
                    post(
                        "/api/User/authreset",
                        &[("requestToken", "nope")],
                        json!({"email": "a@example.com"}),
                    ),
                )
            }),
        ),
    ];
    for (name, make) in &cases {
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let (function, req) = make(i);
            let start = Instant::now();
            let resp = function.handle(&app, req).await;
            samples.push(start.elapsed());
            assert!(resp.status().as_u16() < 500, "{name}: {}", resp.status());
        }
        results.insert(name.to_string(), percentiles(samples));
    }

    #[cfg(feature = "local-signer")]
    measure_sign_in(&config, iterations, &mut results).await;
    measure_argon2(&config, &mut results);
    println!("{}", serde_json::Value::Object(results));
}

fn form(pairs: &[(&str, &str)]) -> lambda_http::Request {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    http::Request::builder()
        .method("POST")
        .uri("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(body))
        .unwrap()
}

/// Sign-in split into its parts: the whole password grant, the argon2id
/// comparison alone, the RS256 signing alone, the refresh grant (store
/// calls and signing, no argon2id), and the token endpoint's own time: the
/// password grant with argon2id at its minimum (8 KiB, one pass), where the
/// comparison costs microseconds. (Subtracting a 17 ms comparison from a
/// 19 ms grant measures argon2id's spread more than the endpoint.)
#[cfg(feature = "local-signer")]
async fn measure_sign_in(
    config: &Config,
    iterations: usize,
    results: &mut serde_json::Map<String, serde_json::Value>,
) {
    use rekey::access_token::AccessTokenSigner;
    // argon2id dominates: fewer rounds.
    let rounds = iterations.clamp(1, 50);
    let (app, signer, user, whole, verify, refresh_tokens) = password_grants(config, rounds).await;
    let mut cheap = config.clone();
    cheap.hash_params = rekey::password::HashParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
    let (_, _, _, own, _, _) = password_grants(&cheap, iterations.max(1)).await;
    results.insert(
        "sign-in: the token endpoint's own time (password grant with argon2id at 8 KiB, t=1; local key, embedded store)"
            .into(),
        percentiles(own),
    );
    let mut signing = Vec::new();
    let claims = rekey::access_token::AccessClaims {
        iss: "https://id.example.com".into(),
        sub: user.id.to_string(),
        aud: "rekey".into(),
        exp: 2_000_000_000,
        iat: 1_900_000_000,
        jti: "bench".into(),
        client_id: "rekey".into(),
        scope: "account".into(),
        ver: 0,
    };
    let _ = signer.key_id().await.unwrap();
    for _ in 0..iterations.max(1) {
        let start = Instant::now();
        rekey::access_token::jwt::sign_access_token(signer.as_ref(), &claims)
            .await
            .unwrap();
        signing.push(start.elapsed());
    }
    let mut refresh = Vec::new();
    for token in &refresh_tokens {
        let pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", token.as_str()),
            ("client_id", "rekey"),
        ];
        let start = Instant::now();
        let resp = Function::OAuthToken.handle(&app, form(&pairs)).await;
        refresh.push(start.elapsed());
        assert_eq!(resp.status(), 200);
    }
    let whole = percentiles(whole);
    let verify = percentiles(verify);
    results.insert(
        "sign-in: oauth-token password grant, whole (argon2id, store calls, local RS256)".into(),
        whole,
    );
    results.insert("sign-in: argon2id verify alone".into(), verify);
    results.insert(
        "sign-in: RS256 signing alone (local key)".into(),
        percentiles(signing),
    );
    results.insert(
        "sign-in: oauth-token refresh grant (store calls and local RS256, no argon2id)".into(),
        percentiles(refresh),
    );
}
/// `rounds` password grants on a fresh embedded store: each one's time, the
/// argon2id verify timed right after it, and the refresh tokens.
#[cfg(feature = "local-signer")]
async fn password_grants(
    config: &Config,
    rounds: usize,
) -> (
    App,
    Arc<rekey::access_token::local::LocalSigner>,
    User,
    Vec<Duration>,
    Vec<Duration>,
    Vec<String>,
) {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = rekey::store::embedded::EmbeddedStore::open(&dir.join("rekey.db")).unwrap();
    let signer = Arc::new(rekey::access_token::local::LocalSigner::ephemeral().unwrap());
    let app = App::new(config, Arc::new(store)).with_signer(signer.clone());
    let password = "Fresh-Horse-42-Battery";
    let hasher = CredentialHasher::new(config.hash_params);
    let hash = hasher.hash(&NewPassword::normalize(password)).unwrap();
    let mut user = User::new(
        UserId::generate(),
        EmailAddress::parse("signer@example.com").unwrap(),
        UnixTime::EPOCH,
    );
    user.password_hash = Some(hash.clone());
    app.store().insert_user(&user).await.unwrap();
    let grant = [
        ("grant_type", "password"),
        ("username", "signer@example.com"),
        ("password", password),
        ("client_id", "rekey"),
    ];
    let (mut whole, mut verify, mut refresh_tokens) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        let resp = Function::OAuthToken.handle(&app, form(&grant)).await;
        whole.push(start.elapsed());
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        refresh_tokens.push(body["refresh_token"].as_str().unwrap().to_string());
        let start = Instant::now();
        let _ = hasher.verify(password, &hash);
        verify.push(start.elapsed());
    }
    (app, signer, user, whole, verify, refresh_tokens)
}

fn measure_argon2(config: &Config, results: &mut serde_json::Map<String, serde_json::Value>) {
    let hasher = CredentialHasher::new(config.hash_params);
    let password = NewPassword::normalize("Fresh-Horse-42-Battery");
    let mut samples = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        hasher.hash(&password).unwrap();
        samples.push(start.elapsed());
    }
    results.insert("argon2id hash".into(), percentiles(samples));
    results.insert(
        "argon2id params".into(),
        json!({"m_kib": config.hash_params.memory_kib, "t": config.hash_params.iterations, "p": config.hash_params.parallelism}),
    );
}
