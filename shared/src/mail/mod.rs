//! Mail: link templates, the sealed outbox payload, rendering, the `Mailer`
//! port and the outbox delivery that the send-email function and the local
//! worker share.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::crypto::{SealError, ServiceKeys};
use crate::domain::{OutboxItem, UnixTime, UserId};
use crate::error::{Cause, Invariant, context};
use crate::store::{Store, StoreError};

#[cfg(feature = "embedded")]
pub mod file;
#[cfg(feature = "ses")]
pub mod ses;
pub mod stream;
pub mod templates;

pub use templates::Templates;

/// What a queued mail says; sealed into the outbox item.
#[derive(Clone, Serialize, Deserialize)]
pub struct MailJob {
    pub to: String,
    pub user_id: UserId,
    pub name: String,
    /// The user's stored locale, if any: it wins over `accept_language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The requester's `Accept-Language` header, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_language: Option<String>,
    #[serde(flatten)]
    pub message: MailMessage,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum MailMessage {
    ResetLink {
        link: String,
        /// Zitadel's code, shown beside the link when the link carries one.
        #[serde(default)]
        code: Option<String>,
        requested_at: UnixTime,
        expires_at: UnixTime,
        source_ip: Option<String>,
    },
    PasswordChanged {
        changed_at: UnixTime,
        source_ip: Option<String>,
        /// The directory's sign-out of the user failed after the password
        /// was set there: delivery retries it before sending.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        sign_out_pending: bool,
    },
}

/// An outbox item holding `job` sealed under the service keys, bound to
/// its id: the table never holds an address, a link or an event in clear.
/// Jobs are structs of strings and numbers, which always serialise.
#[expect(
    clippy::expect_used,
    reason = "mail and webhook jobs are plain structs of strings and numbers"
)]
pub(crate) fn seal_job(
    job: &impl Serialize,
    id: String,
    keys: &ServiceKeys,
    at: UnixTime,
) -> OutboxItem {
    let plaintext = zeroize::Zeroizing::new(serde_json::to_vec(job).expect("serialisable"));
    OutboxItem {
        sealed: keys.seal(&plaintext, id.as_bytes()),
        id,
        created_at: at,
    }
}

/// The job sealed in `item`.
pub(crate) fn open_job<T: serde::de::DeserializeOwned>(
    keys: &ServiceKeys,
    item: &OutboxItem,
) -> Result<T, DeliveryError> {
    let plaintext = keys.open(&item.sealed, item.id.as_bytes())?;
    // serde_json's message quotes the value it choked on (an address, a
    // link): keep only where and what kind of fault.
    serde_json::from_slice(&plaintext).map_err(|e| DeliveryError::Undecodable {
        category: e.classify(),
        line: e.line(),
        column: e.column(),
    })
}

impl MailJob {
    /// The job sealed into an outbox item queued at `at`.
    pub fn seal(&self, keys: &ServiceKeys, at: UnixTime) -> OutboxItem {
        seal_job(self, uuid::Uuid::new_v4().to_string(), keys, at)
    }

    pub fn open(keys: &ServiceKeys, item: &OutboxItem) -> Result<Self, DeliveryError> {
        open_job(keys, item)
    }

    /// Renders with the process's templates (see `templates::current`).
    pub fn render(&self, product: &str) -> RenderedMail {
        self.render_with(product, templates::current())
    }

    /// Renders in the user's stored locale, else the best match of the
    /// request's `Accept-Language`, else English.
    pub fn render_with(&self, product: &str, templates: &Templates) -> RenderedMail {
        let locale = templates.negotiate(self.locale.as_deref(), self.accept_language.as_deref());
        let t = |name: &str| templates.get(locale, name);
        let origin = |source_ip: &Option<String>| {
            source_ip
                .as_deref()
                .map(|ip| {
                    fill(t("origin"), &[("source_ip", ip.to_string())], |s| {
                        s.to_string()
                    })
                })
                .unwrap_or_default()
        };
        let (kind, vars): (&str, Vec<(&str, String)>) = match &self.message {
            MailMessage::ResetLink {
                link,
                code,
                requested_at,
                expires_at,
                source_ip,
            } => (
                "reset_link",
                vec![
                    ("link", link.clone()),
                    (
                        "code_line",
                        code.as_ref()
                            .map(|c| {
                                fill(t("reset_link.code"), &[("code", c.clone())], |s| {
                                    s.to_string()
                                })
                            })
                            .unwrap_or_default(),
                    ),
                    (
                        "expires_minutes",
                        (expires_at.seconds_since(*requested_at).max(60) / 60).to_string(),
                    ),
                    ("requested_at", format_time(*requested_at)),
                    ("origin", origin(source_ip)),
                ],
            ),
            MailMessage::PasswordChanged {
                changed_at,
                source_ip,
                ..
            } => (
                "password_changed",
                vec![
                    ("changed_at", format_time(*changed_at)),
                    ("origin", origin(source_ip)),
                ],
            ),
        };
        let all: Vec<(&str, String)> = [
            ("product", product.to_string()),
            ("name", self.name.clone()),
        ]
        .into_iter()
        .chain(vars)
        .collect();
        let plain = |s: &str| s.to_string();
        RenderedMail {
            to: self.to.clone(),
            // A header: no line breaks, whatever a template or value holds.
            subject: fill(t(&format!("{kind}.subject")), &all, plain)
                .replace(['\r', '\n'], " ")
                .trim()
                .to_string(),
            text: fill(t(&format!("{kind}.txt")), &all, plain),
            html: fill(t(&format!("{kind}.html")), &all, html_escape),
        }
    }
}

pub fn format_time(t: UnixTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(t.secs())
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_else(|| t.to_string())
}

/// Replaces each `{{key}}` of `vars` in one pass: a value that itself
/// contains `{{...}}` is never expanded again.
fn fill(template: &str, vars: &[(&str, String)], escape: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let key = after[..end].trim();
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (escape(v), end))
        });
        match value {
            Some((v, end)) => {
                out.push_str(&v);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A message ready for a `Mailer`.
#[derive(Clone)]
pub struct RenderedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl RenderedMail {
    /// The RFC 5322 message, multipart text and HTML: what the file mailer
    /// writes as .eml and what SES sends as raw content.
    pub fn to_mime(&self, from: &str) -> Result<Vec<u8>, MailError> {
        use lettre::message::header::{ContentTransferEncoding, ContentType};
        use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
        // Unencoded (7bit/8bit) whenever RFC 5322's 998-byte line limit
        // allows, rather than lettre's 76-column quoted-printable: the .eml
        // stays readable and its links intact. SES speaks 8BITMIME.
        let readable = |content: &str, kind: ContentType| {
            let plain = content.lines().all(|l| l.len() <= 998) && !content.contains(['\0', '\r']);
            let body = if plain {
                let encoding = if content.is_ascii() {
                    ContentTransferEncoding::SevenBit
                } else {
                    ContentTransferEncoding::EightBit
                };
                Body::dangerous_pre_encoded(content.replace('\n', "\r\n").into_bytes(), encoding)
            } else {
                Body::new(content.to_string())
            };
            SinglePart::builder().header(kind).body(body)
        };
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::Rejected(Box::new(context("sender address", e))))?;
        let to: Mailbox = self
            .to
            .parse()
            .map_err(|e| MailError::Rejected(Box::new(context("recipient address", e))))?;
        let domain = from.email.domain().to_string();
        let message = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(&self.subject)
            .message_id(Some(format!("<{}@{domain}>", uuid::Uuid::new_v4())))
            .multipart(
                MultiPart::alternative()
                    .singlepart(readable(&self.text, ContentType::TEXT_PLAIN))
                    .singlepart(readable(&self.html, ContentType::TEXT_HTML)),
            )
            .map_err(|e| MailError::Rejected(Box::new(e)))?;
        Ok(message.formatted())
    }
}

/// What a `Mailer` failed at, with its cause. A mail service's cause is
/// the kind of failure (an error code such as `MessageRejected`, or
/// "timeout", [`ServiceFailure`]), never its message, which may quote
/// recipients: log sites show it beside the outbox id.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: throttling, outage, timeouts.
    #[error("mail service unavailable")]
    Unavailable(#[source] Cause),
    /// Will not succeed as is (unverified sender, rejected recipient).
    #[error("mail rejected")]
    Rejected(#[source] Cause),
}

/// A mail service's failure as much as may be kept: its error code or the
/// kind of failure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ServiceFailure(pub String);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError>;
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("cannot open sealed mail: {0}")]
    Sealed(#[from] SealError),
    /// serde_json's message would quote the value it choked on (an
    /// address, a link): only where and what kind of fault is kept.
    #[error("cannot decode sealed mail: {category:?} error at line {line} column {column}")]
    Undecodable {
        category: serde_json::error::Category,
        line: usize,
        column: usize,
    },
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A webhook's retry could not be queued (or dead-lettered).
    #[error("webhook retry queue unavailable")]
    RetryQueue(#[source] Cause),
    /// The directory sign-out a notice carries failed again.
    #[error("sign-out not done")]
    SignOut(#[source] Cause),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// A webhook whose first attempt failed, handed to the retry queue (or
    /// dead-lettered): done as far as the outbox goes.
    Deferred,
    /// Delivered by an earlier attempt: a stream retry or a second worker.
    AlreadyDelivered,
}

/// Turns outbox items into sent mail: opens, renders, sends, then marks the
/// item delivered. Delivery is at least once: a crash between send and mark
/// resends on retry, never loses.
#[derive(Clone)]
pub struct Outbox {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub keys: ServiceKeys,
    pub product_name: String,
    /// Sends the outbox's webhook items; None where none are configured
    /// (then a webhook item stays queued and is reported as failed).
    #[cfg(feature = "webhook-delivery")]
    pub webhooks: Option<std::sync::Arc<crate::webhook::delivery::WebhookSender>>,
    /// Retries the directory sign-outs notices carry; None with rekey's
    /// own accounts (their notices never carry one).
    pub directory: Option<Arc<dyn crate::directory::Directory>>,
}

impl Outbox {
    /// What the send-email function builds at init: the DynamoDB store, the
    /// SES mailer, the keys that open sealed items, and the mail templates
    /// (`config::StreamSettings`, every problem reported together).
    #[cfg(all(feature = "dynamodb", feature = "ses"))]
    pub async fn from_env() -> Result<Self, crate::ConfigError> {
        let settings = crate::config::StreamSettings::from_env()?;
        templates::init(settings.template_dir.as_deref()).map_err(|e| crate::ConfigError {
            problems: vec![format!("REKEY_TEMPLATE_DIR: {}", crate::error::Chain(&e))],
        })?;
        let store: Arc<dyn Store> = Arc::new(crate::store::dynamo::DynamoStore::from_settings(
            &settings.store,
            &settings.aws,
        ));
        let mailer = ses::SesMailer::from_settings(&settings.mail_from, &settings.aws);
        let directory = match &settings.directory {
            crate::config::DirectoryChoice::Rekey => None,
            pool => Some(crate::directory::from_environment(
                pool,
                store.clone(),
                &settings.aws,
            )?),
        };
        Ok(Self {
            directory,
            store,
            mailer: Arc::new(mailer),
            #[cfg(all(feature = "webhook-delivery", not(feature = "sqs")))]
            webhooks: None,
            #[cfg(feature = "sqs")]
            webhooks: crate::webhook::sqs::sender(
                &settings.webhooks,
                &settings.keys,
                &settings.aws,
            ),
            keys: settings.keys,
            product_name: settings.product_name,
        })
    }

    pub async fn deliver(&self, item: &OutboxItem) -> Result<Delivery, DeliveryError> {
        let result = self.try_deliver(item).await;
        crate::metrics::count(match result {
            Ok(Delivery::Sent) => crate::metrics::Metric::MailsSent,
            Ok(Delivery::AlreadyDelivered | Delivery::Deferred) => return result,
            Err(_) => crate::metrics::Metric::MailsFailed,
        });
        result
    }

    async fn try_deliver(&self, item: &OutboxItem) -> Result<Delivery, DeliveryError> {
        if !self.store.mail_pending(&item.id).await? {
            return Ok(Delivery::AlreadyDelivered);
        }
        if crate::webhook::is_webhook(item) {
            return self.send_webhook(item).await;
        }
        let job = MailJob::open(&self.keys, item)?;
        if let MailMessage::PasswordChanged {
            sign_out_pending: true,
            ..
        } = &job.message
        {
            let directory = self.directory.as_ref().ok_or_else(|| {
                DeliveryError::SignOut(Box::new(Invariant(
                    "this worker has no directory configured",
                )))
            })?;
            directory
                .sign_out(&job.user_id)
                .await
                .map_err(|e| DeliveryError::SignOut(Box::new(e)))?;
            tracing::info!(outbox_id = %item.id, user_id = %job.user_id, "queued sign-out done");
        }
        let mail = job.render(&self.product_name);
        self.mailer.send(&mail).await?;
        self.store.mail_delivered(&item.id).await?;
        tracing::info!(outbox_id = %item.id, user_id = %job.user_id, "mail sent");
        Ok(Delivery::Sent)
    }

    /// Delivers what is pending, oldest first; for the local worker. Returns
    /// how many were sent; failures stay queued for the next round.
    pub async fn drain(&self, limit: usize) -> Result<usize, StoreError> {
        let mut sent = 0;
        for item in self.store.pending_mail(limit).await? {
            match self.deliver(&item).await {
                Ok(Delivery::Sent) => sent += 1,
                Ok(Delivery::AlreadyDelivered | Delivery::Deferred) => {}
                Err(e) => {
                    tracing::warn!(outbox_id = %item.id, error = %crate::error::Chain(&e), "mail delivery failed; will retry")
                }
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ServiceSecret;

    #[test]
    fn sealed_job_round_trips_and_renders_escaped_html() {
        let keys = ServiceKeys::new(ServiceSecret::generate().0, None);
        let job = MailJob {
            to: "ada@example.com".into(),
            user_id: UserId::parse("u1").unwrap(),
            name: "Ada <script>".into(),
            locale: None,
            accept_language: None,
            message: MailMessage::ResetLink {
                link: "https://a.example/r?token=rkt_abc&x=1".into(),
                code: None,
                requested_at: UnixTime::from_secs(1_700_000_000),
                expires_at: UnixTime::from_secs(1_700_003_600),
                source_ip: Some("192.0.2.1".into()),
            },
        };
        let item = job.seal(&keys, UnixTime::from_secs(1_700_000_000));
        assert!(!item.sealed.contains("rkt_abc"));
        assert!(!item.sealed.contains("ada@"));
        let mail = MailJob::open(&keys, &item).unwrap().render("Acme");
        assert_eq!(mail.subject, "Acme: reset your password");
        assert!(mail.text.contains("https://a.example/r?token=rkt_abc&x=1"));
        assert!(mail.text.contains("expires in 60 minutes"));
        assert!(mail.text.contains("2023-11-14 22:13 UTC from 192.0.2.1"));
        assert!(mail.html.contains("token=rkt_abc&amp;x=1"));
        assert!(mail.html.contains("Ada &lt;script&gt;"));
        assert!(!mail.html.contains("{{"));
        assert!(!mail.text.contains("{{"));
    }

    #[test]
    fn an_undecodable_sealed_mail_is_reported_without_its_contents() {
        let keys = ServiceKeys::new(ServiceSecret::generate().0, None);
        let id = "outbox-1";
        let payload = br#"{"to": "ada@example.com", "user_id": "u1", "name": "Ada",
            "template": "reset_link", "link": "https://a.example/r?token=rkt_abc",
            "requested_at": "ada@example.com", "expires_at": 1}"#;
        let item = OutboxItem {
            sealed: keys.seal(payload, id.as_bytes()),
            id: id.into(),
            created_at: UnixTime::EPOCH,
        };
        let e = MailJob::open(&keys, &item).err().expect("undecodable");
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("Data error at line 3"), "{shown}");
        for leak in ["ada@", "example.com", "rkt_abc", "token"] {
            assert!(!shown.contains(leak), "{leak} in {shown}");
        }
    }
}
