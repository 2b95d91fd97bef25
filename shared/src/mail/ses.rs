//! SES v2: sends the same MIME message the file mailer writes, as raw
//! content, from the configured sender identity.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

use super::{MailError, Mailer, RenderedMail};
use crate::config::{ConfigError, EnvReader};

pub struct SesMailer {
    client: Client,
    from: String,
}

/// SES answers that will not change on a retry.
const PERMANENT: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "NotFoundException",
];

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    /// Reads `REKEY_MAIL_FROM`; the SDK reads region and credentials.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let mut env = EnvReader::process();
        let from = env.required(
            "REKEY_MAIL_FROM",
            "the sender address, a verified SES identity, e.g. \"Acme <no-reply@acme.example>\"",
        );
        env.finish()?;
        let config = crate::aws::sdk_config().await;
        Ok(Self::new(Client::new(&config), from.expect("checked")))
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        let raw = mail.to_mime(&self.from)?;
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(
                EmailContent::builder()
                    .raw(
                        RawMessage::builder()
                            .data(Blob::new(raw))
                            .build()
                            .map_err(|e| MailError::Rejected(e.to_string()))?,
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                let detail = DisplayErrorContext(&e).to_string();
                if e.code().is_some_and(|c| PERMANENT.contains(&c)) {
                    MailError::Rejected(detail)
                } else {
                    MailError::Unavailable(detail)
                }
            })?;
        Ok(())
    }
}
