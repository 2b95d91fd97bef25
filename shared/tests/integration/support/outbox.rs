//! Reading what a flow queued: mail out of the outbox, links out of mail.

use std::sync::Arc;

use rekey::config::Config;
use rekey::domain::UserId;
use rekey::mail::{MailJob, MailMessage};
use rekey::store::Store;

/// Every queued mail, oldest first, opened with the service key, once the
/// queued address requests are delivered (as the stream or the local worker
/// would); each mail is then marked delivered, so the next call sees only
/// newer mail.
pub async fn take_mail(store: &Arc<dyn Store>, config: &Config) -> Vec<MailJob> {
    rekey::App::new(config, store.clone())
        .reset
        .drain_intake(500)
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for item in store.pending_mail(500).await.unwrap() {
        jobs.push(MailJob::open(&config.keys, &item).expect("sealed with the service key"));
        store.mail_delivered(&item.id).await.unwrap();
    }
    jobs
}

/// The links of the reset mails queued, oldest first; all queued mail
/// (notices too) is marked delivered.
pub async fn take_links(store: &Arc<dyn Store>, config: &Config) -> Vec<String> {
    take_mail(store, config)
        .await
        .into_iter()
        .filter_map(|job| match job.message {
            MailMessage::ResetLink { link, .. } => Some(link),
            _ => None,
        })
        .collect()
}

/// The link of the one reset mail queued; all queued mail is marked
/// delivered.
pub async fn take_link(store: &Arc<dyn Store>, config: &Config) -> String {
    let mut links = take_links(store, config).await;
    assert_eq!(links.len(), 1, "one reset mail queued");
    links.remove(0)
}

/// The query parameter `name` of a mailed link.
pub fn link_param(link: &str, name: &str) -> String {
    url::Url::parse(link)
        .expect("a link")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("the link has no {name}"))
}

/// "Password changed" notices queued for `user`, left queued.
pub async fn notices_for(store: &dyn Store, config: &Config, user: &UserId) -> usize {
    store
        .pending_mail(500)
        .await
        .unwrap()
        .iter()
        .map(|item| MailJob::open(&config.keys, item).unwrap())
        .filter(|job| {
            &job.user_id == user && matches!(job.message, MailMessage::PasswordChanged { .. })
        })
        .count()
}

/// send-email's stream sample rewritten to carry `item`: the insert of an
/// intake item, as the table's stream delivers it.
pub fn intake_stream_event(
    item: &rekey::domain::IntakeItem,
) -> rekey::delivery::stream::StreamEvent {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/send-email.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("OUTBOX#EXAMPLE-OUTBOX-ID", &format!("INTAKE#{}", item.id))
        .replace("\"OUTBOX\"", "\"INTAKE\"")
        .replace("\"outbox\"", "\"intake\"")
        .replace("EXAMPLE-OUTBOX-ID", &item.id)
        .replace("EXAMPLE_SEALED_MESSAGE", &item.sealed)
        .replace("1795374000", &item.created_at.to_string());
    serde_json::from_str(&text).expect("the sample is a stream event")
}
