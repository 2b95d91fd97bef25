//! The `Mailer` port: a rendered message and the service that sends it.

use async_trait::async_trait;

use crate::error::{Cause, context};

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

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError>;
}
