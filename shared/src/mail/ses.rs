//! SES v2: sends the same MIME message the file mailer writes, as raw
//! content, from the configured sender identity.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};

use super::{MailError, Mailer, RenderedMail};
use crate::config::{AwsEnvironment, ConfigError, EnvReader};
use crate::error::ServiceFailure;

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

    /// What send-email builds: a client with region, credentials and
    /// `AWS_ENDPOINT_URL[_SESV2]` from the environment only, sending as
    /// `from` (`REKEY_MAIL_FROM`).
    pub fn from_settings(from: &str, aws: &AwsEnvironment) -> Self {
        let config = crate::aws::environment_sdk_config(aws, "SESV2");
        Self::new(Client::new(&config), from)
    }

    /// `REKEY_MAIL_FROM`, with the SDK's default chain (profiles, SSO) for
    /// region and credentials: for `rekeyctl serve --ses`.
    pub async fn from_env_and_profile() -> Result<Self, ConfigError> {
        let mut env = EnvReader::process();
        let from = crate::config::read_mail_from(&mut env);
        let from = env.finish_with(from)?;
        let config = crate::aws::sdk_config().await?;
        Ok(Self::new(Client::new(&config), from))
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
                            .map_err(|e| MailError::Rejected(Box::new(e)))?,
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failure(&e))?;
        Ok(())
    }
}

/// The mail error for a failed SES call: its kind only. SES's message text
/// is never kept, since `MessageRejected` lists the recipients' addresses
/// and whatever holds the error (a log line, a metric) would carry them.
fn failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> MailError {
    let kind = crate::aws::failure_kind(e);
    let kind = Box::new(ServiceFailure(kind));
    if e.code().is_some_and(|c| PERMANENT.contains(&c)) {
        MailError::Rejected(kind)
    } else {
        MailError::Unavailable(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::error::ErrorMetadata;
    use aws_sdk_sesv2::operation::send_email::SendEmailError;
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};

    const SES_TEXT: &str = "Email address is not verified. The following identities failed \
        the check in region US-EAST-1: ada.lovelace@example.com, Ada <no-reply@acme.example>";

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message(SES_TEXT)
            .build()
    }

    fn shown(e: &MailError) -> String {
        format!("{e} {e:?}")
    }

    #[test]
    fn a_rejection_keeps_its_code_and_never_the_addresses_ses_lists() {
        let rejected = SendEmailError::MessageRejected(
            MessageRejected::builder()
                .message(SES_TEXT)
                .meta(meta("MessageRejected"))
                .build(),
        );
        let e = failure(&SdkError::<_, ()>::service_error(rejected, ()));
        assert!(matches!(&e, MailError::Rejected(kind) if kind.to_string() == "MessageRejected"));
        let shown = shown(&e);
        for leak in ["ada.lovelace", "example.com", "no-reply", "not verified"] {
            assert!(!shown.contains(leak), "{leak} in {shown}");
        }
    }

    #[test]
    fn throttling_and_transport_failures_are_retried_and_named_by_kind() {
        let throttled = SendEmailError::TooManyRequestsException(
            TooManyRequestsException::builder()
                .message(SES_TEXT)
                .meta(meta("TooManyRequestsException"))
                .build(),
        );
        let e = failure(&SdkError::<_, ()>::service_error(throttled, ()));
        assert!(
            matches!(&e, MailError::Unavailable(kind) if kind.to_string() == "TooManyRequestsException")
        );
        let e = failure(&SdkError::<SendEmailError, ()>::timeout_error(SES_TEXT));
        assert!(matches!(&e, MailError::Unavailable(kind) if kind.to_string() == "timeout"));
        assert!(!shown(&e).contains("example.com"));
        let e = failure(&SdkError::<SendEmailError, ()>::construction_failure(
            SES_TEXT,
        ));
        assert!(!shown(&e).contains("example.com"));
        // A code that is not one (free text where the code should be).
        let odd = SendEmailError::generic(meta("see ada@example.com"));
        let e = failure(&SdkError::<_, ()>::service_error(odd, ()));
        assert!(!shown(&e).contains("example.com"));
    }
}
