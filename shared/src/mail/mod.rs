//! Mail: what a queued mail says (`MailJob`, sealed into an outbox item),
//! how it is rendered (`render.rs`, with the templates of `templates.rs`),
//! and the `Mailer` port that sends it (`mailer.rs`; SES in AWS, .eml files
//! locally). Delivering queued mail is `delivery`'s.

use serde::{Deserialize, Serialize};

use crate::crypto::ServiceKeys;
use crate::domain::{OutboxItem, UnixTime, UserId};
use crate::sealed::{OpenError, open_job, seal_job};

#[cfg(feature = "embedded")]
pub mod file;
mod mailer;
mod render;
#[cfg(feature = "ses")]
pub mod ses;
pub mod templates;

pub use mailer::{MailError, Mailer, RenderedMail};
pub use render::format_time;
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

impl MailJob {
    /// The job sealed into an outbox item queued at `at`.
    pub fn seal(&self, keys: &ServiceKeys, at: UnixTime) -> OutboxItem {
        seal_job(self, uuid::Uuid::new_v4().to_string(), keys, at)
    }

    pub fn open(keys: &ServiceKeys, item: &OutboxItem) -> Result<Self, OpenError> {
        open_job(keys, item)
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
