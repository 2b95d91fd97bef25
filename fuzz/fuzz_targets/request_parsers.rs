//! Every HTTP function on arbitrary input: the first byte picks the
//! function, the second how the request is sent (content type, key, Zitadel
//! dialect, base64), the rest is the body (the query string for GETs). The
//! answer is never a 5xx and never a panic, and every JSON contract answers
//! JSON. Runs against the embedded store in a temporary folder, created once.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rekey::App;
use rekey::config::{Config, EnvReader};
use rekey::crypto::{API_KEY_PREFIX, BearerSecret, ServiceSecret};
use rekey::clock::Clock;
use rekey::domain::{ApiKey, EmailAddress, OrgBinding, Scope, User, UserId};
use rekey::password::{CredentialHasher, NewPassword};
use rekey::routes::{Function, ROUTES};
use rekey::store::Store;
use rekey::store::embedded::EmbeddedStore;
use serde_json::{Map, Value, json};

/// What bad input may get (SPEC section 3: never a 5xx).
const ALLOWED: [u16; 8] = [200, 400, 401, 403, 404, 413, 415, 429];

struct Harness {
    rt: tokio::runtime::Runtime,
    app: App,
    /// `reset:request` (Payabli's `requestToken`).
    reset_key: String,
    /// `users:write` (Zitadel's bearer).
    write_key: String,
    user_id: String,
    /// Kept for the process's lifetime (statics are never dropped, so the
    /// folder outlives the run: see docs/fuzzing.md).
    _dir: tempfile::TempDir,
}

fn config() -> Config {
    let secret = ServiceSecret::generate().1;
    let vars: Vec<(&str, String)> = vec![
        ("REKEY_SECRET", secret),
        (
            "REKEY_RESET_URL",
            "https://app.example.com/reset?token={token}".into(),
        ),
        (
            "REKEY_RESET_URLS_BY_ENTRY",
            r#"{"partner-1":"https://partner.example.com/reset?token={token}"}"#.into(),
        ),
        (
            "REKEY_ALLOWED_LINK_ORIGINS",
            "https://app.example.com,https://partner.example.com".into(),
        ),
        // Cheap hashing, and limits a fuzzer never reaches.
        ("REKEY_ARGON2_MEMORY_KIB", "64".into()),
        ("REKEY_ARGON2_ITERATIONS", "1".into()),
        ("REKEY_LIMIT_EMAIL_PER_MINUTE", "1000000000".into()),
        ("REKEY_LIMIT_EMAIL_PER_HOUR", "1000000000".into()),
        ("REKEY_LIMIT_SOURCE_PER_MINUTE", "1000000000".into()),
        ("REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR", "1000000000".into()),
    ];
    let mut env =
        EnvReader::new(move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let config = Config::read(&mut env);
    env.finish().expect("the fuzz configuration is valid");
    config.expect("the fuzz configuration is complete")
}

async fn add_key(store: &dyn Store, scope: Scope) -> String {
    let secret = BearerSecret::generate(API_KEY_PREFIX);
    store
        .insert_api_key(&ApiKey {
            digest: secret.digest(),
            name: "fuzz".into(),
            scopes: vec![scope],
            created_at: rekey::clock::SystemClock.now(),
            revoked: false,
            org: OrgBinding::DefaultOrg,
        })
        .await
        .unwrap();
    secret.expose().to_string()
}

impl Harness {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::Builder::new()
            .prefix("rekey-fuzz-")
            .tempdir()
            .unwrap();
        let store: Arc<dyn Store> =
            Arc::new(EmbeddedStore::open(&dir.path().join("rekey.db")).unwrap());
        let config = config();
        let (reset_key, write_key, user_id) = rt.block_on(async {
            let mut user = User::new(
                UserId::generate(),
                EmailAddress::parse("ada@example.com").unwrap(),
                rekey::clock::SystemClock.now(),
            );
            user.password_hash = Some(
                CredentialHasher::new(config.hash_params)
                    .hash(&NewPassword::normalize("Old-Passw0rd-kept-long"))
                    .unwrap(),
            );
            store.insert_user(&user).await.unwrap();
            (
                add_key(&*store, Scope::ResetRequest).await,
                add_key(&*store, Scope::UsersWrite).await,
                user.id.to_string(),
            )
        });
        Self {
            rt,
            app: App::new(&config, store),
            reset_key,
            write_key,
            user_id,
            _dir: dir,
        }
    }
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(Harness::new)
}

/// Bytes a client may put in a URI as they are; the rest percent-encoded
/// (so the request is one API Gateway could deliver).
fn uri_safe(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let [selector, flags, rest @ ..] = data else {
        return;
    };
    let h = harness();
    // The HTTP functions: the stream's consumer serves no route.
    let http: Vec<Function> = Function::http().collect();
    let function = http[*selector as usize % http.len()];
    let route = ROUTES.iter().find(|r| r.function == function).unwrap();
    let get = route.method == "GET";

    let mut headers = Map::new();
    headers.insert("user-agent".into(), "rekey-fuzz".into());
    let content_type = match flags & 0b111 {
        0..=4 => Some("application/json"),
        5 => Some("application/json; charset=utf-8"),
        6 => Some("text/plain"),
        _ => None,
    };
    if let Some(ct) = content_type {
        headers.insert("content-type".into(), ct.into());
    }
    let keyless = flags & 0b100_0000 != 0;
    let connect = flags & 0b1000 != 0;
    let zitadel = matches!(function, Function::RequestUserReset | Function::SetPassword);
    if !keyless {
        match function {
            Function::RequestReset => {
                headers.insert("requesttoken".into(), h.reset_key.clone().into());
            }
            _ if zitadel => {
                headers.insert(
                    "authorization".into(),
                    format!("Bearer {}", h.write_key).into(),
                );
            }
            _ => {}
        }
    }
    let user = if flags & 0b10_0000 == 0 {
        h.user_id.as_str()
    } else {
        "nobody"
    };
    let mut path_params = Map::new();
    let path = match (function, zitadel && connect) {
        (Function::RequestUserReset, false) => {
            path_params.insert("userId".into(), user.into());
            format!("/v2/users/{user}/password_reset")
        }
        (Function::SetPassword, false) => {
            path_params.insert("userId".into(), user.into());
            format!("/v2/users/{user}/password")
        }
        (Function::RequestUserReset, true) => "/zitadel.user.v2.UserService/PasswordReset".into(),
        (Function::SetPassword, true) => "/zitadel.user.v2.UserService/SetPassword".into(),
        _ => route.path.to_string(),
    };
    let (query, body, base64) = if get {
        (uri_safe(rest), Value::Null, false)
    } else {
        match std::str::from_utf8(rest) {
            Ok(text) if flags & 0b1_0000 == 0 => (String::new(), Value::String(text.into()), false),
            _ => {
                use base64::Engine;
                let encoded = base64::engine::general_purpose::STANDARD.encode(rest);
                (String::new(), Value::String(encoded), true)
            }
        }
    };
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{} {}", route.method, route.path),
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "pathParameters": path_params,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "rekey-fuzz"
            },
            "requestId": "req",
            "routeKey": format!("{} {}", route.method, route.path),
            "stage": "$default",
            "time": "22/Nov/2026:19:00:00 +0000",
            "timeEpoch": 1795374000000i64
        },
        "body": body,
        "isBase64Encoded": base64
    });
    let req = lambda_http::request::from_str(&event.to_string()).expect("a valid event");

    let resp = h.rt.block_on(function.handle(&h.app, req));
    let status = resp.status().as_u16();
    let text = String::from_utf8_lossy(resp.body().as_ref());
    assert!(
        ALLOWED.contains(&status),
        "{} answered {status}: {text}",
        function.name()
    );
    if function != Function::ResetPage {
        let parsed: Result<Value, _> = serde_json::from_str(&text);
        assert!(
            parsed.is_ok_and(|v| v.is_object()),
            "{} answered non-JSON: {text}",
            function.name()
        );
    }
});
