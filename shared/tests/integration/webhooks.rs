//! Webhooks: queued in the change's own transaction on both stores,
//! signed per Standard Webhooks, retried, dead-lettered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rekey::config::Config;
use rekey::delivery::{Delivery, Outbox};
use rekey::domain::{ClientInfo, OutboxItem, Scope};
use rekey::reset::PasswordProof;
use rekey::store::Store;
use rekey::webhook::WebhookError;
use rekey::webhook::sender::{Outcome, RetryQueue, WebhookClient, WebhookSender};
use rekey::webhook::{Endpoints, WebhookJob, WebhookSecret, is_webhook, sign};

use crate::on_both_stores;
use crate::support::webhook_receiver::Receiver;
use crate::support::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const HOOKS: &str = r#"[
    {"name": "app", "url": "https://app.example.com/hooks"},
    {"name": "hashes", "url": "https://verifier.example.com/hooks", "events": ["password.changed"], "include_password_hash": true},
    {"name": "audit", "url": "https://audit.example.com/hooks", "events": ["account.disabled"]}
]"#;

fn webhook_config() -> Config {
    config_with(&[("REKEY_WEBHOOKS", HOOKS)])
}

/// The webhook items queued, opened; left queued.
async fn queued(store: &dyn Store, config: &Config) -> Vec<(OutboxItem, WebhookJob)> {
    store
        .pending_mail(500)
        .await
        .unwrap()
        .into_iter()
        .filter(is_webhook)
        .map(|item| {
            let job = WebhookJob::open(&config.keys, &item).unwrap();
            (item, job)
        })
        .collect()
}

fn admin_key() -> rekey::domain::ApiKey {
    api_key(&[Scope::UsersWrite, Scope::UsersAdmin]).1
}

async fn a_change_queues_its_webhooks_in_its_transaction(store: Arc<dyn Store>) {
    let config = webhook_config();
    let reset = rekey::App::new(&config, store.clone()).reset;
    let user = add_user(&*store, &config, &unique_email()).await;
    reset
        .set_password_with_proof(
            &user.id,
            NEW_PASSWORD,
            PasswordProof::None,
            &admin_key(),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let jobs = queued(&*store, &config).await;
    let mut names: Vec<&str> = jobs.iter().map(|(_, j)| j.endpoint.as_str()).collect();
    names.sort();
    assert_eq!(names, ["app", "hashes"], "the filters choose the endpoints");
    assert_eq!(
        jobs[0].1.message_id, jobs[1].1.message_id,
        "one event, one id"
    );
    let stored_hash = store
        .user(&user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    for (item, job) in &jobs {
        // Sealed: the table holds neither the address nor the hash.
        assert!(!item.sealed.contains(user.email.as_str()));
        let body: serde_json::Value = serde_json::from_str(&job.body).unwrap();
        assert_eq!(body["type"], "password.changed");
        assert_eq!(body["data"]["user_id"], user.id.as_str());
        assert_eq!(body["data"]["email"], user.email.as_str());
        assert_eq!(body["data"]["contract"], "admin");
        assert_eq!(body["data"]["sessions_revoked"], true);
        match job.endpoint.as_str() {
            "hashes" => assert_eq!(body["data"]["password_hash"], stored_hash.as_str()),
            _ => assert!(body["data"].get("password_hash").is_none()),
        }
    }

    // A change from a stale view loses its race and queues nothing.
    let before = store.pending_mail(500).await.unwrap().len();
    let stale = rekey::domain::PasswordChange {
        user_id: user.id.clone(),
        expected: user.credential_version,
        new_hash: stored_hash.clone(),
        history: Vec::new(),
        changed_at: now(),
        notice: jobs[0].0.clone_with_new_id(),
        webhooks: config.webhooks.queue(
            &rekey::webhook::WebhookEvent::password_changed(&user, now(), "t", true, Some("h")),
            &config.keys,
        ),
        session: None,
        audit: rekey::domain::AuditEvent {
            id: unique("audit"),
            user_id: user.id.clone(),
            action: "t".into(),
            outcome: "success".into(),
            at: now(),
            source_ip: None,
            user_agent: None,
            expires_at: now() + secs(60),
        },
    };
    assert_eq!(stale.webhooks.len(), 2);
    assert!(matches!(
        store
            .change_password(&stale, &rekey::domain::Redemption::Nothing)
            .await,
        Err(rekey::StoreError::Conflict(_))
    ));
    assert_eq!(store.pending_mail(500).await.unwrap().len(), before);
}
on_both_stores!(
    change_queues_webhooks,
    a_change_queues_its_webhooks_in_its_transaction
);

trait NewId {
    fn clone_with_new_id(&self) -> OutboxItem;
}
impl NewId for OutboxItem {
    fn clone_with_new_id(&self) -> OutboxItem {
        OutboxItem {
            id: unique("outbox"),
            ..self.clone()
        }
    }
}

async fn disabling_queues_account_disabled_once(store: Arc<dyn Store>) {
    let config = webhook_config();
    let reset = rekey::App::new(&config, store.clone()).reset;
    let user = add_user(&*store, &config, &unique_email()).await;
    assert!(reset.disable_account(&user).await.unwrap());
    let jobs = queued(&*store, &config).await;
    let mut names: Vec<&str> = jobs.iter().map(|(_, j)| j.endpoint.as_str()).collect();
    names.sort();
    assert_eq!(names, ["app", "audit"]);
    let body: serde_json::Value = serde_json::from_str(&jobs[0].1.body).unwrap();
    assert_eq!(body["type"], "account.disabled");
    assert_eq!(body["data"]["user_id"], user.id.as_str());
    let stored = store.user(&user.id).await.unwrap().unwrap();
    assert!(stored.disabled);
    assert_eq!(stored.credential_version, user.credential_version.next());
    // Disabled already: nothing changes, nothing is queued.
    assert!(!reset.disable_account(&stored).await.unwrap());
    assert_eq!(queued(&*store, &config).await.len(), 2);
    assert_eq!(
        store
            .user(&user.id)
            .await
            .unwrap()
            .unwrap()
            .credential_version,
        stored.credential_version
    );
}
on_both_stores!(
    disable_queues_webhooks,
    disabling_queues_account_disabled_once
);

/// The retry queue's calls, for the tests to read.
#[derive(Default)]
struct RecordedRetries {
    scheduled: Mutex<Vec<(String, u32, Duration)>>,
    dead: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl RetryQueue for RecordedRetries {
    async fn schedule(
        &self,
        item: &OutboxItem,
        attempt: u32,
        delay: Duration,
    ) -> Result<(), WebhookError> {
        self.scheduled
            .lock()
            .unwrap()
            .push((item.id.clone(), attempt, delay));
        Ok(())
    }
    async fn dead_letter(&self, item: &OutboxItem, reason: &str) -> Result<(), WebhookError> {
        self.dead
            .lock()
            .unwrap()
            .push((item.id.clone(), reason.to_string()));
        Ok(())
    }
}

fn sender_to(url: &str, config: &Config, retries: Arc<RecordedRetries>) -> WebhookSender {
    let hooks = format!(r#"[{{"name": "app", "url": "{url}"}}]"#);
    let endpoints = Endpoints::parse(
        Some(&hooks),
        Some(&format!(r#"{{"app": "{SECRET}"}}"#)),
        Some("7,9"),
    )
    .unwrap();
    WebhookSender {
        endpoints,
        keys: config.keys.clone(),
        client: WebhookClient::default(),
        retries,
    }
}

fn test_item(config: &Config, endpoint: &str) -> (OutboxItem, WebhookJob) {
    let job = WebhookJob {
        endpoint: endpoint.into(),
        message_id: format!("msg_{}", unique("m")),
        event_type: "webhook.test".into(),
        body: r#"{"type":"webhook.test","timestamp":"2026-01-01T00:00:00Z","data":{}}"#.into(),
    };
    (job.seal(&config.keys, now()), job)
}

#[tokio::test]
async fn a_delivery_is_signed_per_standard_webhooks() {
    let config = config();
    let receiver = Receiver::start(&[204]).await;
    let sender = sender_to(&receiver.url, &config, Arc::default());
    let (item, job) = test_item(&config, "app");
    assert_eq!(sender.send(&item, 1).await.unwrap(), Outcome::Delivered);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let h = &got[0].headers;
    assert_eq!(h["webhook-id"], job.message_id);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(got[0].body, job.body);
    let timestamp: i64 = h["webhook-timestamp"].parse().unwrap();
    assert!(
        (now_secs() - timestamp).abs() <= 5,
        "seconds, now: {timestamp}"
    );
    let secret = WebhookSecret::parse(SECRET).unwrap();
    assert_eq!(
        h["webhook-signature"],
        sign(&secret, &job.message_id, timestamp, &job.body)
    );
}

#[tokio::test]
async fn failures_are_retried_with_backoff_then_dead_lettered() {
    let config = config();
    let receiver = Receiver::start(&[500, 503, 500]).await;
    let retries = Arc::new(RecordedRetries::default());
    let sender = sender_to(&receiver.url, &config, retries.clone());
    let (item, job) = test_item(&config, "app");
    assert_eq!(
        sender.send(&item, 1).await.unwrap(),
        Outcome::Retrying { next: 2 }
    );
    assert_eq!(
        sender.send(&item, 2).await.unwrap(),
        Outcome::Retrying { next: 3 }
    );
    assert_eq!(sender.send(&item, 3).await.unwrap(), Outcome::DeadLettered);
    assert_eq!(
        *retries.scheduled.lock().unwrap(),
        [
            (item.id.clone(), 2, Duration::from_secs(7)),
            (item.id.clone(), 3, Duration::from_secs(9))
        ]
    );
    assert_eq!(
        *retries.dead.lock().unwrap(),
        [(item.id.clone(), "status 500".to_string())]
    );
    // At least once under one id: every attempt carried the same webhook-id,
    // each signed for its own timestamp.
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.headers["webhook-id"] == job.message_id)
    );
}

#[tokio::test]
async fn redirects_are_not_followed_and_removed_endpoints_dead_letter() {
    let config = config();
    let receiver = Receiver::start(&[302]).await;
    let retries = Arc::new(RecordedRetries::default());
    let sender = sender_to(&receiver.url, &config, retries.clone());
    let (item, _) = test_item(&config, "app");
    assert_eq!(
        sender.send(&item, 1).await.unwrap(),
        Outcome::Retrying { next: 2 }
    );
    assert_eq!(
        receiver.received().len(),
        1,
        "the redirect was not followed"
    );

    let (gone, _) = test_item(&config, "removed");
    assert_eq!(sender.send(&gone, 1).await.unwrap(), Outcome::DeadLettered);
    assert_eq!(retries.dead.lock().unwrap()[0].1, "endpoint not configured");
    // Nothing listening: a failed attempt, not an error.
    let closed = sender_to("http://127.0.0.1:9/hook", &config, retries.clone());
    assert_eq!(
        closed.send(&item, 1).await.unwrap(),
        Outcome::Retrying { next: 2 }
    );
}

/// The outbox's consumer makes the first attempt; delivered or handed to
/// the retry queue, the outbox item is done, so mail behind it goes on.
#[tokio::test]
async fn the_outbox_hands_a_failed_webhook_to_the_retry_queue() {
    let config = config();
    let embedded = embedded_store();
    let store: Arc<dyn Store> = Arc::new(embedded.store.clone());
    let receiver = Receiver::start(&[500]).await;
    let retries = Arc::new(RecordedRetries::default());
    let outbox = Outbox {
        store: store.clone(),
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            tempfile::tempdir().unwrap().keep(),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: Some(Arc::new(sender_to(&receiver.url, &config, retries.clone()))),
        directory: None,
    };
    let (failing, _) = test_item(&config, "app");
    let (passing, _) = test_item(&config, "app");
    store.enqueue_mail(&failing).await.unwrap();
    store.enqueue_mail(&passing).await.unwrap();
    assert_eq!(outbox.deliver(&failing).await.unwrap(), Delivery::Deferred);
    assert_eq!(outbox.deliver(&passing).await.unwrap(), Delivery::Sent);
    assert!(store.pending_mail(10).await.unwrap().is_empty());
    assert_eq!(retries.scheduled.lock().unwrap().len(), 1);
    assert_eq!(
        outbox.deliver(&failing).await.unwrap(),
        Delivery::AlreadyDelivered
    );
}

/// AWS: a failed attempt waits in the SQS retry queue (moto), send-email
/// consumes it and makes the next attempt; after the last, the sealed item
/// goes to the dead-letter queue.
#[tokio::test]
async fn retries_wait_in_sqs_and_end_in_its_dead_letter_queue() {
    use rekey::webhook::sqs::{DeadLetter, SqsRetries, consume_retries, is_retry_batch};
    let config = config();
    let sqs = aws_sdk_sqs::Client::new(&aws_config().await);
    let mut urls = Vec::new();
    for name in ["retry", "dead"] {
        let created = sqs
            .create_queue()
            .queue_name(unique(name))
            .send()
            .await
            .unwrap();
        urls.push(created.queue_url.unwrap());
    }
    let retries = Arc::new(SqsRetries::new(
        sqs.clone(),
        urls[0].clone(),
        urls[1].clone(),
    ));
    let receiver = Receiver::start(&[500, 500, 500]).await;
    let hooks = format!(r#"[{{"name": "app", "url": "{}"}}]"#, receiver.url);
    let sender = WebhookSender {
        endpoints: Endpoints::parse(
            Some(&hooks),
            Some(&format!(r#"{{"app": "{SECRET}"}}"#)),
            Some("1"),
        )
        .unwrap(),
        keys: config.keys.clone(),
        client: WebhookClient::default(),
        retries,
    };
    // What Lambda hands send-email from the retry queue.
    let next_batch = |queue: String| {
        let sqs = sqs.clone();
        async move {
            let got = sqs
                .receive_message()
                .queue_url(queue)
                .wait_time_seconds(10)
                .send()
                .await
                .unwrap();
            let records: Vec<serde_json::Value> = got
                .messages()
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "messageId": m.message_id(), "body": m.body(), "eventSource": "aws:sqs"
                    })
                })
                .collect();
            serde_json::json!({ "Records": records })
        }
    };

    let (item, job) = test_item(&config, "app");
    assert_eq!(
        sender.send(&item, 1).await.unwrap(),
        Outcome::Retrying { next: 2 }
    );
    let batch = next_batch(urls[0].clone()).await;
    assert!(is_retry_batch(&batch));
    assert_eq!(batch["Records"].as_array().unwrap().len(), 1);
    let body = batch["Records"][0]["body"].as_str().unwrap().to_string();
    assert!(
        body.contains(&item.sealed) && !body.contains("webhook.test"),
        "sealed: {body}"
    );
    let response = consume_retries(Some(&sender), serde_json::from_value(batch).unwrap()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    // The second attempt was the last: the item is in the dead-letter queue.
    let dead = next_batch(urls[1].clone()).await;
    let letter: DeadLetter =
        serde_json::from_str(dead["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(letter.outbox_id, item.id);
    assert_eq!(letter.sealed, item.sealed);
    assert_eq!(letter.reason, "status 500");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|r| r.headers["webhook-id"] == job.message_id)
    );

    // A retry that succeeds ends there: nothing more is queued.
    let (item, _) = test_item(&config, "app");
    assert_eq!(
        sender.send(&item, 1).await.unwrap(),
        Outcome::Retrying { next: 2 }
    );
    let batch = next_batch(urls[0].clone()).await;
    let response = consume_retries(Some(&sender), serde_json::from_value(batch).unwrap()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(receiver.received().len(), 4);
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    let after = sqs
        .get_queue_attributes()
        .queue_url(&urls[1])
        .attribute_names(Q::ApproximateNumberOfMessages)
        .attribute_names(Q::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let count = |q: Q| after.attributes().unwrap()[&q].parse::<u32>().unwrap();
    assert_eq!(
        count(Q::ApproximateNumberOfMessages) + count(Q::ApproximateNumberOfMessagesNotVisible),
        1,
        "only the first item was dead-lettered"
    );
    // An undecodable message is reported, so SQS's redrive takes over.
    let bad = serde_json::json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}]});
    let response = consume_retries(Some(&sender), serde_json::from_value(bad).unwrap()).await;
    assert_eq!(response.batch_item_failures.len(), 1);
}

/// send-email takes either event: its stream sample is not a retry batch
/// and still parses as the stream's event.
#[test]
fn send_email_tells_the_stream_from_the_retry_queue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/send-email.json");
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(!rekey::webhook::sqs::is_retry_batch(&sample));
    let stream: rekey::delivery::stream::StreamEvent = serde_json::from_value(sample).unwrap();
    assert!(!stream.records.is_empty());
    let retry = serde_json::json!({"Records": [{"messageId": "m", "body": "{}", "eventSource": "aws:sqs"}]});
    assert!(rekey::webhook::sqs::is_retry_batch(&retry));
    assert!(!rekey::webhook::sqs::is_retry_batch(&serde_json::json!({})));
}
