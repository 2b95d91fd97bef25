//! Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256 of
//! `{webhook-id}.{webhook-timestamp}.{body}` under the endpoint's secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;
use secrecy::{ExposeSecret, SecretBox};

/// An endpoint's signing secret, given as `whsec_<base64>`: the key is
/// the decoded part. Never printed.
#[derive(Clone)]
pub struct WebhookSecret(std::sync::Arc<SecretBox<Vec<u8>>>);

pub const SECRET_PREFIX: &str = "whsec_";

/// Why a webhook secret is refused; never quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSecretError {
    #[error("a secret starts with {SECRET_PREFIX}")]
    Prefix,
    #[error("after {SECRET_PREFIX} a secret is standard base64")]
    NotBase64,
    #[error("a secret is 24 to 64 bytes once decoded, not {0}")]
    Length(usize),
}

impl WebhookSecret {
    /// `whsec_` and standard base64 of 24 to 64 bytes, the range the
    /// specification recommends. The error never quotes the value.
    pub fn parse(raw: &str) -> Result<Self, WebhookSecretError> {
        let encoded = raw
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookSecretError::Prefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookSecretError::NotBase64)?;
        if !(24..=64).contains(&key.len()) {
            return Err(WebhookSecretError::Length(key.len()));
        }
        Ok(Self(std::sync::Arc::new(SecretBox::new(Box::new(key)))))
    }

    /// A new random secret in its `whsec_` form, for an operator to configure.
    pub fn generate() -> String {
        let key = crate::crypto::random_bytes::<32>();
        format!("{SECRET_PREFIX}{}", STANDARD.encode(key.as_ref()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// The `webhook-signature` value for one attempt.
pub fn sign(secret: &WebhookSecret, message_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = crate::crypto::hmac_sha256(secret.0.expose_secret());
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference libraries.
    #[test]
    fn the_reference_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &secret,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn malformed_secrets_are_refused_without_being_quoted() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_%%%%",
            "whsec_c2hvcnQ=",
        ] {
            let e = WebhookSecret::parse(bad).expect_err(bad).to_string();
            assert!(!e.contains(bad.trim_start_matches(SECRET_PREFIX)), "{e}");
        }
        let fresh = WebhookSecret::generate();
        assert!(WebhookSecret::parse(&fresh).is_ok());
        assert_eq!(
            format!("{:?}", WebhookSecret::parse(&fresh).unwrap()),
            "WebhookSecret(..)"
        );
    }
}
