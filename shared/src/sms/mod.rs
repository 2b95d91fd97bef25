//! Reset codes by text message: the sealed job a flow queues in the
//! outbox, its rendering in the user's language, and the `TextSender`
//! port. SNS (`sns.rs`, send-email) and the outbox folder (`file.rs`,
//! rekeyctl) are its adapters; `Outbox::deliver` sends the jobs.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::crypto::ServiceKeys;
use crate::domain::{OutboxItem, PhoneNumber, UnixTime, UserId};
use crate::mail::{Templates, fill, templates};
use crate::sealed::{OpenError, open_job, seal_job};

#[cfg(feature = "embedded")]
pub mod file;
#[cfg(feature = "sns")]
pub mod sns;

/// Outbox ids of texts start with this; mail ids are bare UUIDs.
pub const TEXT_ID_PREFIX: &str = "sms-";

pub fn is_text(item: &OutboxItem) -> bool {
    item.id.starts_with(TEXT_ID_PREFIX)
}

/// What a queued text says; sealed into the outbox item like mail, so the
/// table never holds the number or the code in clear.
#[derive(Clone, Serialize, Deserialize)]
pub struct TextJob {
    pub to: PhoneNumber,
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_language: Option<String>,
    pub code: String,
    /// The link with the code, when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub requested_at: UnixTime,
    pub expires_at: UnixTime,
}

impl TextJob {
    /// The job sealed into an outbox item queued at `at`.
    pub fn seal(&self, keys: &ServiceKeys, at: UnixTime) -> OutboxItem {
        seal_job(
            self,
            format!("{TEXT_ID_PREFIX}{}", uuid::Uuid::new_v4()),
            keys,
            at,
        )
    }

    pub fn open(keys: &ServiceKeys, item: &OutboxItem) -> Result<Self, OpenError> {
        open_job(keys, item)
    }

    pub fn render(&self, product: &str) -> TextMessage {
        self.render_with(product, templates::current())
    }

    /// The user's stored locale, else the request's `Accept-Language`,
    /// else English; one line with the code, then the link if any.
    pub fn render_with(&self, product: &str, templates: &Templates) -> TextMessage {
        let locale = templates.negotiate(self.locale.as_deref(), self.accept_language.as_deref());
        let vars = [
            ("product", product.to_string()),
            ("code", self.code.clone()),
            (
                "expires_minutes",
                (self.expires_at.seconds_since(self.requested_at).max(60) / 60).to_string(),
            ),
            ("link", self.link.clone().unwrap_or_default()),
        ];
        let body = fill(templates.get(locale, "reset_code.sms"), &vars, |s| {
            s.to_string()
        });
        TextMessage {
            to: self.to.clone(),
            body: body.trim().to_string(),
        }
    }
}

/// A text ready for a `TextSender`.
#[derive(Clone)]
pub struct TextMessage {
    pub to: PhoneNumber,
    pub body: String,
}

/// What a `TextSender` failed at: a kind (an SNS error code, "opted out",
/// "timeout"), never the service's message, which may quote the number.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// Worth retrying: throttling, outage, timeouts, unknown codes.
    #[error("text service unavailable: {0}")]
    Unavailable(String),
    /// Will never succeed (opted out, invalid number, not authorised):
    /// dead-lettered with this reason.
    #[error("text rejected: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait TextSender: Send + Sync {
    async fn send(&self, text: &TextMessage) -> Result<(), TextError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ServiceSecret;

    fn job(locale: Option<&str>) -> TextJob {
        TextJob {
            to: PhoneNumber::parse("+15555550100").unwrap(),
            user_id: UserId::parse("u1").unwrap(),
            locale: locale.map(str::to_string),
            accept_language: None,
            code: "K7P2QX".into(),
            link: Some("https://a.example/set?code=K7P2QX".into()),
            requested_at: UnixTime::from_secs(1_700_000_000),
            expires_at: UnixTime::from_secs(1_700_000_600),
        }
    }

    #[test]
    fn a_sealed_text_hides_number_and_code_and_renders_in_the_users_language() {
        let keys = ServiceKeys::new(ServiceSecret::generate().0, None);
        let item = job(Some("de")).seal(&keys, UnixTime::from_secs(1_700_000_000));
        assert!(is_text(&item));
        for leak in ["5555550100", "K7P2QX"] {
            assert!(!item.sealed.contains(leak) && !item.id.contains(leak));
        }
        let text = TextJob::open(&keys, &item).unwrap().render("Acme");
        assert_eq!(text.to.as_str(), "+15555550100");
        assert!(text.body.starts_with("Acme"), "{}", text.body);
        assert!(text.body.contains("K7P2QX") && text.body.contains("10 Minuten"));
        assert!(text.body.ends_with("https://a.example/set?code=K7P2QX"));
        let english = job(None).render("Acme");
        assert!(
            english.body.contains("expires in 10 minutes"),
            "{}",
            english.body
        );
        // One SMS segment for the usual code and link.
        assert!(english.body.len() <= 160, "{}", english.body.len());
        let bare = TextJob {
            link: None,
            ..job(None)
        }
        .render("Acme");
        assert!(!bare.body.contains("http") && !bare.body.contains("{{"));
    }
}
