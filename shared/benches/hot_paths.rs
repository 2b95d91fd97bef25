//! The CPU a request costs besides the store, mail and argon2: tokens,
//! HMAC, AEAD, the password policy, and each contract's request handling.
//! `cargo bench -p rekey --bench hot_paths`; figures in docs/benchmarks.md.

// Measurement code: a failed unwrap or expect stops the run, as it should.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::Body;
use rekey::App;
use rekey::config::{Config, EnvReader};
use rekey::crypto::{BearerSecret, LINK_TOKEN_PREFIX, ServiceKeys, ServiceSecret};
use rekey::password::{NewPassword, PasswordContext, PasswordPolicies, Profile};
use rekey::routes::Function;

fn keys() -> ServiceKeys {
    ServiceKeys::new(ServiceSecret::generate().0, None)
}

fn crypto(c: &mut Criterion) {
    let keys = keys();
    c.bench_function("link token: generate + digest", |b| {
        b.iter(|| black_box(BearerSecret::generate(LINK_TOKEN_PREFIX).digest()))
    });
    let parts: [&[u8]; 4] = [
        b"rekey/reset-password-link/v1",
        b"3f2c5d9e-user",
        &1_795_374_000i64.to_be_bytes(),
        &7u64.to_be_bytes(),
    ];
    c.bench_function("signed link: HMAC sign", |b| {
        b.iter(|| black_box(keys.sign("signed-reset-link", &parts)))
    });
    let tag = keys.sign("signed-reset-link", &parts);
    c.bench_function("signed link: HMAC verify", |b| {
        b.iter(|| black_box(keys.verify("signed-reset-link", &parts, &tag)))
    });
    let message = vec![b'x'; 600];
    c.bench_function("outbox: AEAD seal 600 B", |b| {
        b.iter(|| black_box(keys.seal(&message, b"OUTBOX#id")))
    });
    let sealed = keys.seal(&message, b"OUTBOX#id");
    c.bench_function("outbox: AEAD open 600 B", |b| {
        b.iter(|| black_box(keys.open(&sealed, b"OUTBOX#id").unwrap()))
    });
}

fn policy(c: &mut Criterion) {
    let policy = PasswordPolicies::new("rekey");
    let who = PasswordContext {
        email: Some("ada@example.com"),
        name: Some("Ada Lovelace"),
    };
    for (name, pw) in [
        ("strong", "Fresh-Horse-42-Battery"),
        ("weak", "password"),
        ("max length", &*"aB1!".repeat(32)),
    ] {
        let password = NewPassword::normalize(pw);
        c.bench_function(&format!("policy: {name} password"), |b| {
            b.iter(|| black_box(policy.check(Profile::Nist, &password, who)))
        });
    }
}

fn config() -> Config {
    let secret = ServiceSecret::generate().1;
    let mut env = EnvReader::new(move |k| match k {
        "REKEY_SECRET" => Some(secret.clone()),
        "REKEY_RESET_URL" => Some("https://app.example.com/reset?token={token}".into()),
        "REKEY_LIMIT_SOURCE_PER_MINUTE" => Some("1000000000".into()),
        _ => None,
    });
    let config = Config::read(&mut env);
    env.finish().unwrap();
    config.unwrap()
}

fn request(method: &str, path: &str, body: &str) -> lambda_http::Request {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

/// Each contract's parsing and validation up to the point of refusal, with
/// no store or mail call: the handler's own time.
fn contracts(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = rekey::store::embedded::EmbeddedStore::open(&dir.path().join("rekey.db")).unwrap();
    let app = App::new(&config(), Arc::new(store));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        // Refused before any store call: the parse and the dialect.
        (
            Function::ValidatePassword,
            "/auth/reset/validate-password",
            r#"{"password":"Fresh-Horse-42-Battery"}"#,
        ),
        (
            Function::ResetPassword,
            "/auth/reset/password",
            r#"{"token":"not-a-token","password":"Fresh-Horse-42-Battery"}"#,
        ),
        (
            Function::ResetPasswordSigned,
            "/api/v1/iam/accounts/reset-password/",
            r#"{"user_id":"u","timestamp":"x","signature":"s","password":"p"}"#,
        ),
        (
            Function::ResetAccount,
            "/api/v2/account/reset/",
            r#"{"validation_code":"not-a-token","password":"Fresh-Horse-42-Battery"}"#,
        ),
        (
            Function::RequestReset,
            "/api/User/authreset",
            r#"{"email":"ada@example.com"}"#,
        ),
        (
            Function::SetPassword,
            "/zitadel.user.v2.UserService/SetPassword",
            r#"{"userId":"u1","newPassword":{"password":"p"}}"#,
        ),
    ];
    for (function, path, body) in cases {
        c.bench_function(&format!("handler: {}", function.name()), |b| {
            b.iter(|| rt.block_on(function.handle(&app, request("POST", path, body))))
        });
    }
}

criterion_group!(benches, crypto, policy, contracts);
criterion_main!(benches);
