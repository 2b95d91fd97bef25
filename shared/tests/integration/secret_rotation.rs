//! Rotating `REKEY_SECRET` (with the old one as `REKEY_SECRET_PREVIOUS`)
//! keeps the rate-limit windows: counters keyed by a reference under the
//! secret are counted under both while the previous one is configured.

use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::clock::ManualClock;
use rekey::crypto::ServiceSecret;
use rekey::domain::UnixTime;
use rekey::routes::Function;
use serde_json::json;

fn validate_password() -> lambda_http::Request {
    post(
        "/auth/reset/validate-password",
        &[("content-type", "application/json")],
        &json!({"password": NEW_PASSWORD}),
    )
}

/// A clock standing early in a minute, so the hits below fall in one
/// window, whenever the test runs (it moves only when told).
fn early_in_a_minute() -> Arc<ManualClock> {
    let t = now().secs();
    Arc::new(ManualClock::at(UnixTime::from_secs(
        t - t.rem_euclid(60) + 5,
    )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_limit_hit_before_a_rotation_still_refuses_after_it() {
    let e = embedded_store();
    let old = ServiceSecret::generate().1;
    let new = ServiceSecret::generate().1;
    let limit = ("REKEY_LIMIT_SOURCE_PER_MINUTE", "3");
    let clock = early_in_a_minute();

    let before = App::new(
        &config_with(&[limit, ("REKEY_SECRET", old.as_str())]),
        Arc::new(e.store.clone()),
    )
    .with_clock(clock.clone());
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
    )
    .with_clock(clock);
    let resp = Function::ValidatePassword
        .handle(&rotated, validate_password())
        .await;
    assert_eq!(resp.status(), 429, "a rotation must not reset the window");
    assert!(resp.headers().contains_key("retry-after"));
}
