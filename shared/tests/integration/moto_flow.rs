//! The email-link reset flow against moto: DynamoDB for state, the table's
//! stream feeding the send-email handler (the address request, then the
//! mail its delivery queued), SES v2 sending; the sent message is read back
//! through moto's API and its link followed.

use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::delivery::Outbox;
use rekey::delivery::stream::consume_batch;
use rekey::domain::{EmailAddress, Scope};
use rekey::mail::ses::SesMailer;
use rekey::password::{CredentialHasher, Verification};
use rekey::routes::Function;

const SENDER: &str = "no-reply@acme.example";

async fn ses_mailer(verify_sender: bool) -> SesMailer {
    let client = aws_sdk_sesv2::Client::new(&aws_config().await);
    let sender = if verify_sender {
        client
            .create_email_identity()
            .email_identity(SENDER)
            .send()
            .await
            .expect("verify sender on moto");
        format!("Acme <{SENDER}>")
    } else {
        format!("Acme <{}@unverified.example>", unique("nobody"))
    };
    SesMailer::new(client, sender)
}

struct Deployment {
    app: App,
    outbox: Outbox,
    table: String,
    key: String,
}

async fn deploy(verify_sender: bool) -> Deployment {
    let store = dynamo_store().await;
    let table = store.table_name().to_string();
    let config = config();
    let store: Arc<dyn rekey::Store> = Arc::new(store);
    let key = add_key(&*store, &[Scope::ResetRequest]).await;
    Deployment {
        app: App::new(&config, store.clone()),
        outbox: Outbox {
            store,
            mailer: Arc::new(ses_mailer(verify_sender).await),
            keys: config.keys.clone(),
            product_name: config.product_name.clone(),
            webhooks: None,
            directory: None,
        },
        table,
        key,
    }
}

fn request_reset(key: &str, email: &str) -> lambda_http::Request {
    apigw_request(
        "POST",
        "/api/User/authreset",
        &[],
        &[("content-type", "application/json"), ("requestToken", key)],
        Some(&serde_json::json!({"email": email}).to_string()),
    )
}

fn reset(token: &str, password: &str) -> lambda_http::Request {
    apigw_request(
        "POST",
        "/auth/reset/password",
        &[],
        &[("content-type", "application/json")],
        Some(&serde_json::json!({"token": token, "password": password}).to_string()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_link_flow_through_stream_and_ses() {
    let d = deploy(true).await;
    let mut stream = StreamReader::open(&d.table).await;
    let email = unique_email();
    let user = add_user(&**d.app.store(), &config(), &email).await;
    stream.next_event().await; // the setup's writes

    let resp = Function::RequestReset
        .handle(&d.app, request_reset(&d.key, &email))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.body().as_ref(),
        br#"{"isSuccess":true,"responseText":"Success"}"#
    );

    // The request is one intake item, with no address in clear; send-email
    // delivers it from the stream: the look-up, the grant and the outbox
    // item, in one transaction with the intake item's removal.
    let (raw_event, intake_event) = stream.next_event().await;
    let raw = raw_event.to_string();
    assert!(raw.contains(r#""kind":{"S":"intake"}"#));
    assert!(!raw.contains(&email), "the intake item leaks the address");
    let result = consume_batch(&d.app.reset, &d.outbox, intake_event.clone()).await;
    assert!(result.batch_item_failures.is_empty());
    assert_eq!(d.app.store().pending_mail(10).await.unwrap().len(), 1);
    // A redelivered intake record (a stream retry) queues no second mail.
    let result = consume_batch(&d.app.reset, &d.outbox, intake_event).await;
    assert!(result.batch_item_failures.is_empty());
    assert_eq!(d.app.store().pending_mail(10).await.unwrap().len(), 1);

    // The grant and the outbox item arrived on the stream in one transaction;
    // the outbox item holds no token or address in clear.
    let (raw_event, event) = stream.next_event().await;
    let raw = raw_event.to_string();
    assert!(raw.contains(r#""kind":{"S":"outbox"}"#));
    assert!(
        !raw.contains("rkt_") && !raw.contains(&email),
        "outbox item leaks a secret"
    );
    let result = consume_batch(&d.app.reset, &d.outbox, event).await;
    assert!(result.batch_item_failures.is_empty());

    let sent = sent_mail(&email).await;
    assert_eq!(sent.len(), 1, "one reset mail");
    let (text, subject) = text_and_subject(&sent[0]);
    assert_eq!(subject, "Acme: reset your password");
    assert!(text.contains("https://app.example.com/reset?token=rkt_"));
    let token = token_from_link_text(&text);

    let validate =
        |t: &str| apigw_request("GET", "/auth/reset/validate", &[("token", t)], &[], None);
    let resp = Function::ValidateToken
        .handle(&d.app, validate(&token))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(response_json(&resp)["email"], email.as_str());

    let resp = Function::ResetPassword
        .handle(&d.app, reset(&token, "password"))
        .await;
    assert_eq!(resp.status(), 400);
    let resp = Function::ResetPassword
        .handle(&d.app, reset(&token, NEW_PASSWORD))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.body().as_ref(), b"{}");

    let stored = d.app.store().user(&user.id).await.unwrap().unwrap();
    let hasher = CredentialHasher::new(config().hash_params);
    let hash = stored.password_hash.unwrap();
    assert!(matches!(
        hasher.verify(NEW_PASSWORD, &hash),
        Verification::Match { .. }
    ));
    assert_eq!(hasher.verify(OLD_PASSWORD, &hash), Verification::Mismatch);

    assert_eq!(
        Function::ResetPassword
            .handle(&d.app, reset(&token, NEW_PASSWORD))
            .await
            .status(),
        403
    );
    assert_eq!(
        Function::ValidateToken
            .handle(&d.app, validate(&token))
            .await
            .status(),
        403
    );

    // The "password changed" notice goes out through the same path.
    let (_, event) = stream.next_event().await;
    let result = rekey::delivery::stream::deliver_batch(&d.outbox, event.clone()).await;
    assert!(result.batch_item_failures.is_empty());
    let sent = sent_mail(&email).await;
    assert_eq!(sent.len(), 2);
    let (text, subject) = text_and_subject(&sent[1]);
    assert_eq!(subject, "Acme: your password was changed");
    assert!(text.contains("from 198.51.100.7"));
    assert!(!text.contains(NEW_PASSWORD));

    // A stream retry of a delivered batch sends nothing twice.
    let result = rekey::delivery::stream::deliver_batch(&d.outbox, event).await;
    assert!(result.batch_item_failures.is_empty());
    assert_eq!(sent_mail(&email).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_gets_the_same_answer_and_no_mail() {
    let d = deploy(true).await;
    let known = unique_email();
    add_user(&**d.app.store(), &config(), &known).await;
    let mut stream = StreamReader::open(&d.table).await;
    stream.next_event().await;
    // The kinds of the items written, one per item: moto reports an
    // UpdateItem that creates an item as two records, DynamoDB as one.
    let kinds = |raw: &serde_json::Value| -> Vec<String> {
        let mut by_key = std::collections::BTreeMap::new();
        for r in raw["Records"].as_array().unwrap() {
            let kind = r["dynamodb"]["NewImage"]["kind"]["S"]
                .as_str()
                .map(str::to_string);
            let entry = by_key
                .entry(r["dynamodb"]["Keys"].to_string())
                .or_insert(None);
            if kind.is_some() {
                *entry = kind;
            }
        }
        let mut k: Vec<String> = by_key
            .into_values()
            .map(|k| k.unwrap_or_default())
            .collect();
        k.sort();
        k
    };

    let unknown = unique_email();
    let a = Function::RequestReset
        .handle(&d.app, request_reset(&d.key, &unknown))
        .await;
    let (unknown_writes, unknown_event) = stream.next_event().await;
    let b = Function::RequestReset
        .handle(&d.app, request_reset(&d.key, &known))
        .await;
    let (known_writes, known_event) = stream.next_event().await;
    assert_eq!(a.status(), b.status());
    assert_eq!(a.headers(), b.headers());
    assert_eq!(a.body().as_ref(), b.body().as_ref());
    // The same work either way: one intake item, of one size.
    assert_eq!(kinds(&known_writes), ["intake"]);
    assert_eq!(kinds(&unknown_writes), ["intake"]);
    let sizes = |raw: &serde_json::Value| -> Vec<(String, usize)> {
        let image = raw["Records"][0]["dynamodb"]["NewImage"]
            .as_object()
            .unwrap();
        let mut v: Vec<_> = image
            .iter()
            .map(|(name, value)| (name.clone(), value.to_string().len()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(sizes(&known_writes), sizes(&unknown_writes));

    // Delivery tells them apart, out of the requester's sight: only the
    // known address gets its grant and mail.
    for event in [unknown_event, known_event] {
        let result = consume_batch(&d.app.reset, &d.outbox, event).await;
        assert!(result.batch_item_failures.is_empty());
    }
    let (delivered, _) = stream.next_event().await;
    let delivered = kinds(&delivered);
    assert_eq!(
        delivered.iter().filter(|k| *k == "outbox").count(),
        1,
        "{delivered:?}"
    );
    let queued = d.app.store().pending_mail(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    let job = rekey::mail::MailJob::open(&d.outbox.keys, &queued[0]).unwrap();
    assert_eq!(job.to, known);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_refusal_reports_the_item_for_retry_and_keeps_it() {
    let d = deploy(false).await;
    let mut stream = StreamReader::open(&d.table).await;
    let email = unique_email();
    add_user(&**d.app.store(), &config(), &email).await;
    stream.next_event().await;

    let resp = Function::RequestReset
        .handle(&d.app, request_reset(&d.key, &email))
        .await;
    assert_eq!(resp.status(), 200, "a mail outage never fails the request");
    let (_, intake) = stream.next_event().await;
    let result = consume_batch(&d.app.reset, &d.outbox, intake).await;
    assert!(result.batch_item_failures.is_empty());
    let (_, event) = stream.next_event().await;
    let outbox_sequence: Vec<String> = event
        .records
        .iter()
        .filter(|r| {
            r.change.new_image.get("kind")
                == Some(&serde_dynamo::AttributeValue::S("outbox".into()))
        })
        .filter_map(|r| r.change.sequence_number.clone())
        .collect();
    assert_eq!(outbox_sequence.len(), 1);

    let result = rekey::delivery::stream::deliver_batch(&d.outbox, event).await;
    let failed: Vec<_> = result
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed, outbox_sequence,
        "only the outbox record is reported"
    );
    assert_eq!(
        d.app.store().pending_mail(10).await.unwrap().len(),
        1,
        "the item stays queued"
    );
    assert!(sent_mail(&email).await.is_empty());
    let user = d
        .app
        .store()
        .user_by_email(&EmailAddress::parse(&email).unwrap())
        .await
        .unwrap();
    assert!(user.is_some());
}
