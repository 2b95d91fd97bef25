//! The secrets template.yaml names by ARN, read at init from Secrets
//! Manager (moto's server): what a function builds from them, the
//! rotation's stages, and what an operator is told when a secret cannot be
//! read (the secret and the stage, never a value).

use std::collections::BTreeMap;

use crate::support::*;
use rekey::config::{ConfigError, Environment, read_keys};
use rekey::crypto::{ServiceKeys, ServiceSecret};
use rekey::secrets_manager::resolve;

/// A deployed function's variables (as template.yaml gives them), with
/// the SDK pointed at moto.
fn deployed(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = [
        ("REKEY_TABLE", "rekey-stored-secrets"),
        (
            "REKEY_RESET_URL",
            "https://app.example.com/reset?token={token}",
        ),
        ("AWS_REGION", "us-east-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.insert("AWS_ENDPOINT_URL".into(), moto_endpoint());
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

async fn resolved(extra: &[(&str, &str)]) -> Result<Environment, ConfigError> {
    resolve(Environment::from_pairs(deployed(extra))).await
}

fn keys(env: &Environment) -> ServiceKeys {
    let mut reader = env.reader();
    let keys = read_keys(&mut reader);
    reader
        .finish_with(keys)
        .expect("the secrets read are valid keys")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_reads_its_secrets_at_init_and_builds_with_them() {
    let service = ServiceSecret::generate().1;
    let webhooks = r#"{"app": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#;
    let edge = "E".repeat(48);
    let service_arn = moto_secret("rekey-service", &service).await;
    let webhooks_arn = moto_secret("rekey-webhooks", webhooks).await;
    let edge_arn = moto_secret("rekey-edge", &edge).await;

    let env = resolved(&[
        ("REKEY_SECRET_ID", service_arn.as_str()),
        ("REKEY_WEBHOOK_SECRETS_ID", webhooks_arn.as_str()),
        ("REKEY_EDGE_SECRET_ID", edge_arn.as_str()),
        ("REKEY_SECRET_ROTATION", "none"),
    ])
    .await
    .expect("every secret is on moto");
    assert_eq!(env.get("REKEY_SECRET").as_deref(), Some(service.as_str()));
    assert_eq!(env.get("REKEY_WEBHOOK_SECRETS").as_deref(), Some(webhooks));
    assert_eq!(env.get("REKEY_EDGE_SECRET").as_deref(), Some(edge.as_str()));
    assert_eq!(
        env.get("REKEY_SECRET_PREVIOUS"),
        None,
        "no rotation under way"
    );

    // The function builds from them, and its keys are the stored secret's.
    let app = rekey::wiring::request_reset(&env).expect("request-reset starts");
    drop(app);
    let stored = ServiceKeys::new(ServiceSecret::parse(&service).unwrap(), None);
    let tag = stored.sign("probe", &[b"x"]);
    assert!(keys(&env).verify("probe", &[b"x"], &tag));
}

/// The rotation scheme of docs/deploy.md: `pending` accepts AWSPENDING as
/// the previous secret, `previous` accepts AWSPREVIOUS; what was signed
/// with that version still verifies, and AWSCURRENT signs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rotation_phase_reads_its_stage_and_what_it_signed_still_verifies() {
    let v1 = ServiceSecret::generate().1;
    let v2 = ServiceSecret::generate().1;
    let v3 = ServiceSecret::generate().1;
    let arn = moto_secret("rekey-rotating", &v1).await;
    put_secret_version(&arn, &v2, "AWSCURRENT").await; // v1 -> AWSPREVIOUS
    put_secret_version(&arn, &v3, "AWSPENDING").await;
    let signed_by = |raw: &str| {
        ServiceKeys::new(ServiceSecret::parse(raw).unwrap(), None).sign("probe", &[b"grant"])
    };

    for (phase, previous) in [("previous", &v1), ("pending", &v3)] {
        let env = resolved(&[("REKEY_SECRET_ID", &arn), ("REKEY_SECRET_ROTATION", phase)])
            .await
            .unwrap_or_else(|e| panic!("{phase}: {e}"));
        assert_eq!(
            env.get("REKEY_SECRET").as_deref(),
            Some(v2.as_str()),
            "{phase}"
        );
        assert_eq!(
            env.get("REKEY_SECRET_PREVIOUS").as_deref(),
            Some(previous.as_str()),
            "{phase}"
        );
        let keys = keys(&env);
        assert!(
            keys.verify("probe", &[b"grant"], &signed_by(previous)),
            "{phase}"
        );
        assert!(
            keys.verify("probe", &[b"grant"], &signed_by(&v2)),
            "{phase}"
        );
        assert_eq!(
            keys.sign("probe", &[b"grant"]),
            signed_by(&v2),
            "AWSCURRENT signs"
        );
        let other = if phase == "previous" { &v3 } else { &v1 };
        assert!(
            !keys.verify("probe", &[b"grant"], &signed_by(other)),
            "{phase}: the other stage is not accepted"
        );
    }
}

/// The operator moves the stages between the `pending` and `previous`
/// deploys (docs/deploy.md): a container starting in that window, still
/// in phase `pending`, accepts the old secret (now AWSPREVIOUS) beside the
/// new current one, whether AWSPENDING is still on the new version or
/// already removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_starting_during_the_stage_move_accepts_both_secrets() {
    let old = ServiceSecret::generate().1;
    let new = ServiceSecret::generate().1;
    let arn = moto_secret("rekey-moving", &old).await;
    let pending_id = put_secret_version(&arn, &new, "AWSPENDING").await;
    let read = |phase: &'static str| {
        let arn = arn.clone();
        async move {
            let env = resolved(&[("REKEY_SECRET_ID", &arn), ("REKEY_SECRET_ROTATION", phase)])
                .await
                .unwrap_or_else(|e| panic!("{phase}: {e}"));
            (
                env.get("REKEY_SECRET").unwrap(),
                env.get("REKEY_SECRET_PREVIOUS").unwrap(),
            )
        }
    };
    assert_eq!(read("pending").await, (old.clone(), new.clone()), "step 1");

    // AWSCURRENT moves to the new value (with moto: PutSecretValue), the
    // old one becomes AWSPREVIOUS, AWSPENDING still labels the new value.
    put_secret_version(&arn, &new, "AWSCURRENT").await;
    assert_eq!(
        read("pending").await,
        (new.clone(), old.clone()),
        "AWSCURRENT moved"
    );

    secrets_client()
        .await
        .update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSPENDING")
        .remove_from_version_id(&pending_id)
        .send()
        .await
        .expect("remove AWSPENDING");
    assert_eq!(
        read("pending").await,
        (new.clone(), old.clone()),
        "AWSPENDING removed"
    );
    assert_eq!(read("previous").await, (new, old), "step 2 deployed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_or_stage_stops_the_start_naming_it() {
    let value = ServiceSecret::generate().1;
    let arn = moto_secret("rekey-no-rotation", &value).await;
    let gone = format!("{}-gone", arn);
    let e = resolved(&[("REKEY_SECRET_ID", &gone)])
        .await
        .err()
        .expect("no such secret");
    let text = e.to_string();
    assert!(text.contains("REKEY_SECRET_ID"), "{text}");
    assert!(text.contains(&gone), "{text}");
    assert!(text.contains("has no version"), "{text}");

    // A rotation phase whose stages were never staged: neither AWSPENDING
    // nor the AWSPREVIOUS a stage move would have left.
    for (phase, stage) in [("pending", "AWSPREVIOUS"), ("previous", "AWSPREVIOUS")] {
        let e = resolved(&[("REKEY_SECRET_ID", &arn), ("REKEY_SECRET_ROTATION", phase)])
            .await
            .err()
            .expect("no version at the phase's stage");
        let text = e.to_string();
        assert_eq!(e.problems.len(), 1, "{text}");
        assert!(text.contains(&format!("at {stage}")), "{phase}: {text}");
        assert!(!text.contains(&value), "no secret in the message: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_secrets_manager_fails_init_with_the_secret_named_and_no_value() {
    // A loopback port nobody listens on: refused at once, every attempt.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rekey-AbCdEf";
    let e = resolved(&[
        ("REKEY_SECRET_ID", arn),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", url.as_str()),
    ])
    .await
    .err()
    .expect("Secrets Manager is down");
    let text = e.to_string();
    assert!(text.contains("REKEY_SECRET_ID"), "{text}");
    assert!(text.contains(arn), "{text}");
    assert!(text.contains("cannot start"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_before_any_request() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rekey-AbCdEf";
    // 192.0.2.0/24 is TEST-NET-1: a request there would hang, not fail.
    let e = resolved(&[
        ("REKEY_SECRET_ID", arn),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://192.0.2.10:4566"),
    ])
    .await
    .err()
    .expect("refused");
    assert!(e.to_string().contains("in clear"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_run_keeps_its_value_and_calls_nothing() {
    let value = ServiceSecret::generate().1;
    // No endpoint that answers: a call would fail the start.
    let env = resolve(Environment::from_pairs([
        ("REKEY_SECRET", value.as_str()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]))
    .await
    .expect("nothing to read");
    assert_eq!(env.get("REKEY_SECRET").as_deref(), Some(value.as_str()));
}
