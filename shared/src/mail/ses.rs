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

    /// What send-email builds at init: reads `REKEY_MAIL_FROM`, and region,
    /// credentials and `AWS_ENDPOINT_URL[_SESV2]` from the environment only.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let from = sender_from_env()?;
        let config = crate::aws::environment_sdk_config("SESV2");
        Ok(Self::new(Client::new(&config), from))
    }

    /// As `from_env`, with the SDK's default chain (profiles, SSO) for
    /// region and credentials: for `rekeyctl serve --ses`.
    pub async fn from_env_and_profile() -> Result<Self, ConfigError> {
        let from = sender_from_env()?;
        let config = crate::aws::sdk_config().await;
        Ok(Self::new(Client::new(&config), from))
    }
}

fn sender_from_env() -> Result<String, ConfigError> {
    let mut env = EnvReader::process();
    let from = env.required(
        "REKEY_MAIL_FROM",
        "the sender address, a verified SES identity, e.g. \"Acme <no-reply@acme.example>\"",
    );
    env.finish()?;
    Ok(from.expect("checked"))
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
