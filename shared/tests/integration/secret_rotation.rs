//! Rotating `REKEY_SECRET` (with the old one as `REKEY_SECRET_PREVIOUS`)
//! keeps the rate-limit windows: counters keyed by a reference under the
//! secret are counted under both while the previous one is configured.

use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::crypto::ServiceSecret;
use rekey::routes::Function;
use serde_json::json;

fn validate_password() -> lambda_http::Request {
    post(
        "/auth/reset/validate-password",
        &[("content-type", "application/json")],
        &json!({"password": NEW_PASSWORD}),
    )
}

/// Waits out the end of a minute, so the hits below fall in one window.
async fn early_in_a_minute() {
    let second = rekey::domain::now().rem_euclid(60);
    if second > 50 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_limit_hit_before_a_rotation_still_refuses_after_it() {
    let e = embedded_store();
    let old = ServiceSecret::generate().1;
    let new = ServiceSecret::generate().1;
    let limit = ("REKEY_LIMIT_SOURCE_PER_MINUTE", "3");
    early_in_a_minute().await;

    let before = App::new(
        &config_with(&[limit, ("REKEY_SECRET", old.as_str())]),
        Arc::new(e.store.clone()),
    );
    for _ in 0..3 {
        let resp = Function::ValidatePassword
            .handle(&before, validate_password())
            .await;
        assert_eq!(resp.status(), 200);
    }
    let resp = Function::ValidatePassword
        .handle(&before, validate_password())
        .await;
    assert_eq!(resp.status(), 429, "the limit holds before the rotation");

    let rotated = App::new(
        &config_with(&[
            limit,
            ("REKEY_SECRET", new.as_str()),
            ("REKEY_SECRET_PREVIOUS", old.as_str()),
        ]),
        Arc::new(e.store.clone()),
    );
    let resp = Function::ValidatePassword
        .handle(&rotated, validate_password())
        .await;
    assert_eq!(resp.status(), 429, "a rotation must not reset the window");
    assert!(resp.headers().contains_key("retry-after"));
}
