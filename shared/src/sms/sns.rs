//! Amazon SNS: asks whether the number opted out (Publish itself succeeds
//! for an opted-out number and fails later, out of sight), then publishes
//! the text to the phone number as a transactional SMS, with the optional
//! sender ID and origination number.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use super::{TextError, TextMessage, TextSender};

/// SNS answers that will not change on a retry. Throttling, internal
/// errors, KMS (topics only) and anything unknown are retried.
const PERMANENT: &[&str] = &[
    "InvalidParameter",
    "ParameterValueInvalid",
    "ValidationException",
    "NotFound",
    "EndpointDisabled",
    "PlatformApplicationDisabled",
    // A misconfigured role or SMS not enabled: retrying will not fix it.
    "AuthorizationError",
    "OptedOut",
];

pub struct SnsTexter {
    client: SnsClient,
    /// `AWS.SNS.SMS.SenderID`: 1-11 letters and digits, where supported.
    sender_id: Option<String>,
    /// `AWS.MM.SMS.OriginationNumber`: an E.164 number the account owns.
    origination_number: Option<String>,
}

/// The client, or what makes it at the first text.
enum SnsClient {
    Ready(Client),
    OnFirstText(Box<aws_config::SdkConfig>, OnceLock<Client>),
}

impl SnsTexter {
    pub fn new(
        client: Client,
        sender_id: Option<String>,
        origination_number: Option<String>,
    ) -> Self {
        Self {
            client: SnsClient::Ready(client),
            sender_id,
            origination_number,
        }
    }

    /// A texter that makes its client when it sends its first text. An SDK
    /// client costs about 0.55 M instructions at init (its crate's endpoint
    /// partition table is parsed then), a third of send-email's time to
    /// ready; where texts are off it is made only for a text queued before
    /// they were turned off, which is still sent.
    pub fn on_first_text(
        config: aws_config::SdkConfig,
        sender_id: Option<String>,
        origination_number: Option<String>,
    ) -> Self {
        Self {
            client: SnsClient::OnFirstText(Box::new(config), OnceLock::new()),
            sender_id,
            origination_number,
        }
    }

    /// A texter from the function's environment (`config::TextSender`):
    /// its client made at init when texts are on, else at the first text.
    pub fn from_settings(
        texts: &crate::config::TextSender,
        aws: &crate::config::AwsEnvironment,
        texts_on: bool,
    ) -> Self {
        let config = crate::aws::environment_sdk_config(aws, "SNS");
        let (sender_id, origination_number) =
            (texts.sender_id.clone(), texts.origination_number.clone());
        if texts_on {
            Self::new(Client::new(&config), sender_id, origination_number)
        } else {
            Self::on_first_text(config, sender_id, origination_number)
        }
    }

    /// Whether the client has been made (it is, once a text was sent).
    pub fn client_made(&self) -> bool {
        match &self.client {
            SnsClient::Ready(_) => true,
            SnsClient::OnFirstText(_, client) => client.get().is_some(),
        }
    }

    fn client(&self) -> &Client {
        match &self.client {
            SnsClient::Ready(client) => client,
            SnsClient::OnFirstText(config, client) => client.get_or_init(|| Client::new(config)),
        }
    }
}

/// `AWS.SNS.SMS.SenderID`'s rule: 1-11 letters and digits, one a letter.
pub fn valid_sender_id(id: &str) -> bool {
    (1..=11).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && id.bytes().any(|b| b.is_ascii_alphabetic())
}

fn attribute(value: &str) -> Result<MessageAttributeValue, TextError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|_| TextError::Rejected("message attribute construction".into()))
}

#[async_trait]
impl TextSender for SnsTexter {
    async fn send(&self, text: &TextMessage) -> Result<(), TextError> {
        let opted_out = self
            .client()
            .check_if_phone_number_is_opted_out()
            .phone_number(text.to.as_str())
            .send()
            .await
            .map_err(|e| failure(&e))?
            .is_opted_out();
        if opted_out {
            return Err(TextError::Rejected("OptedOut".into()));
        }
        let mut publish = self
            .client()
            .publish()
            .phone_number(text.to.as_str())
            .message(&text.body)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?);
        if let Some(id) = &self.sender_id {
            publish = publish.message_attributes("AWS.SNS.SMS.SenderID", attribute(id)?);
        }
        if let Some(number) = &self.origination_number {
            publish =
                publish.message_attributes("AWS.MM.SMS.OriginationNumber", attribute(number)?);
        }
        // Never Debug-print the request: the SDK redacts the number but
        // not the message, which holds the code.
        publish.send().await.map_err(|e| failure(&e))?;
        Ok(())
    }
}

/// The text error for a failed SNS call: its kind only. SNS's message for
/// an invalid number quotes the number ("+1555... is not valid to publish
/// to"), so it is never kept.
fn failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> TextError {
    let kind = crate::aws::failure_kind(e);
    if e.code().is_some_and(|c| PERMANENT.contains(&c)) {
        TextError::Rejected(kind)
    } else {
        TextError::Unavailable(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sns::error::ErrorMetadata;
    use aws_sdk_sns::operation::publish::PublishError;

    const SNS_TEXT: &str =
        "Invalid parameter: PhoneNumber Reason: +15555550100 is not valid to publish to";

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message(SNS_TEXT)
            .build()
    }

    #[test]
    fn errors_keep_their_code_never_the_number_sns_quotes() {
        for (code, permanent) in [
            ("InvalidParameter", true),
            ("ParameterValueInvalid", true),
            ("AuthorizationError", true),
            ("Throttling", false),
            ("InternalError", false),
            ("KMSThrottling", false),
            ("SomethingNew", false),
        ] {
            let e = failure(&SdkError::<_, ()>::service_error(
                PublishError::generic(meta(code)),
                (),
            ));
            match (&e, permanent) {
                (TextError::Rejected(kind), true) | (TextError::Unavailable(kind), false) => {
                    assert_eq!(kind, code)
                }
                _ => panic!("{code}: {e:?}"),
            }
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("5555550100"), "{shown}");
        }
        let e = failure(&SdkError::<PublishError, ()>::timeout_error(SNS_TEXT));
        assert!(matches!(&e, TextError::Unavailable(kind) if kind == "timeout"));
        let odd = PublishError::generic(meta("see +15555550100"));
        let e = failure(&SdkError::<_, ()>::service_error(odd, ()));
        assert!(!format!("{e:?}").contains("5555550100"));
    }
}
