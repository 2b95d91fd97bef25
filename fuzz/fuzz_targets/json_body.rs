//! `json_value` and `json_body` on arbitrary bytes: the first byte picks
//! the content type, the rest is the body. Never a panic; 415, 413 and 400
//! by the rules of SPEC section 3; a field error names a path made of the
//! keys sent, indexes and the target's field names, then a fixed phrase, so
//! it can never quote a value that was sent.

#![no_main]

use std::collections::{BTreeSet, HashMap};

use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;
use rekey::http::{MAX_BODY_BYTES, RequestError, json_body, json_value};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[allow(dead_code)]
struct TokenAndPassword {
    token: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AuthReset {
    email: String,
    entry: Option<String>,
    entry_type: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SetPassword {
    #[serde(default, alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "new_password")]
    new_password: NewPassword,
    verification_code: Option<String>,
    kind: Option<Kind>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct NewPassword {
    password: String,
    change_required: Option<bool>,
    n: Option<u32>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
enum Kind {
    Email,
    Sms(u8),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Strict {
    token: String,
    n: Option<u32>,
}

const TARGET_FIELDS: &[&str] = &[
    "token",
    "password",
    "email",
    "entry",
    "entryType",
    "userId",
    "user_id",
    "newPassword",
    "new_password",
    "verificationCode",
    "kind",
    "changeRequired",
    "n",
    "body",
    "Email",
    "Sms",
];

fn all_keys(v: &Value, into: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                into.insert(k.clone());
                all_keys(v, into);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| all_keys(v, into)),
        _ => {}
    }
}

fn check_structural(err: &RequestError, sent: &Value) {
    let RequestError::InvalidField { field, message } = err else {
        panic!("a parsed body gave {err:?}");
    };
    assert!(
        [
            "is required",
            "has the wrong type",
            "is not a known field",
            "is not valid"
        ]
        .iter()
        .any(|p| *message == format!("{field} {p}")),
        "unexpected message {message:?}"
    );
    let mut words: BTreeSet<String> = TARGET_FIELDS.iter().map(|s| s.to_string()).collect();
    all_keys(sent, &mut words);
    let mut words: Vec<String> = words.into_iter().filter(|w| !w.is_empty()).collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut rest = field.clone();
    for w in &words {
        rest = rest.replace(w.as_str(), "");
    }
    assert!(
        rest.chars()
            .all(|c| c == '.' || c == '?' || c.is_ascii_digit()),
        "field {field:?} holds more than keys and indexes"
    );
}

fn request(content_type: Option<&str>, body: &[u8]) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/x");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(Body::Binary(body.to_vec())).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let [selector, body @ ..] = data else {
        return;
    };
    let content_type = match selector % 4 {
        0 => Some("application/json"),
        1 => Some("Application/JSON; charset=utf-8"),
        2 => Some("text/plain"),
        _ => None,
    };
    let req = request(content_type, body);
    let value = json_value(&req);
    match content_type {
        Some("text/plain") | None => assert_eq!(value, Err(RequestError::UnsupportedMediaType)),
        Some(_) if body.len() > MAX_BODY_BYTES => {
            assert_eq!(value, Err(RequestError::PayloadTooLarge))
        }
        Some(_) => match serde_json::from_slice::<Value>(body) {
            Ok(v) => assert_eq!(value.as_ref(), Ok(&v)),
            Err(_) => assert!(matches!(value, Err(RequestError::MalformedJson(_)))),
        },
    }
    let errors = [
        json_body::<TokenAndPassword>(&req).err(),
        json_body::<AuthReset>(&req).err(),
        json_body::<SetPassword>(&req).err(),
        json_body::<Strict>(&req).err(),
        json_body::<HashMap<String, u8>>(&req).err(),
        json_body::<Value>(&req).err(),
    ];
    for err in errors.iter().flatten() {
        match &value {
            Err(first) => assert_eq!(err, first),
            Ok(sent) => check_structural(err, sent),
        }
    }
});
