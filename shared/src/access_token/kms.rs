//! The AWS KMS adapter, through aws-sdk-kms: `GetPublicKey` for the keys
//! tokens verify under (each cached in memory after its first call; a
//! failure is not cached, so the next request tries again) and `Sign`
//! (RSASSA_PKCS1_V1_5_SHA_256 over the SHA-256 digest) under the current
//! key. The private key never leaves KMS.
//!
//! [`KmsKeys`] is the public half alone (discovery publishes it,
//! oauth-userinfo verifies with it); [`KmsSigner`] signs with the current
//! key and publishes the same keys.

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{
    AccessTokenSigner, KeyState, PublicKeySet, PublishedKey, RsaPublicKey, SIGNING_KEY_VAR,
    SigningError,
};
use crate::config::{AwsEnvironment, SigningKeys};
use crate::error::{Invariant, context};

struct KmsKey {
    state: KeyState,
    key_id: String,
    public: OnceCell<RsaPublicKey>,
}

/// The configured KMS keys' public halves, read with `GetPublicKey`.
pub struct KmsKeys {
    client: aws_sdk_kms::Client,
    /// The current key first, then the next and the previous when set.
    keys: Vec<KmsKey>,
}

impl KmsKeys {
    /// `current` (key id, ARN or alias), and `next` and `previous` during
    /// a rotation; no network until the first request.
    pub fn new(
        client: aws_sdk_kms::Client,
        current: String,
        next: Option<String>,
        previous: Option<String>,
    ) -> Self {
        let keys = [
            (KeyState::Current, Some(current)),
            (KeyState::Next, next),
            (KeyState::Previous, previous),
        ]
        .into_iter()
        .filter_map(|(state, id)| id.map(|key_id| (state, key_id)))
        .map(|(state, key_id)| KmsKey {
            state,
            key_id,
            public: OnceCell::new(),
        })
        .collect();
        Self { client, keys }
    }

    /// The configured keys with the Lambdas' SDK configuration. Builds
    /// the client only; no network.
    pub fn from_settings(keys: &SigningKeys, aws: &AwsEnvironment) -> Self {
        let config = crate::aws::environment_sdk_config(aws, "KMS");
        Self::new(
            aws_sdk_kms::Client::new(&config),
            keys.current.clone(),
            keys.next.clone(),
            keys.previous.clone(),
        )
    }

    fn current(&self) -> Result<&KmsKey, SigningError> {
        self.keys
            .first()
            .ok_or(SigningError::NotConfigured(SIGNING_KEY_VAR))
    }

    async fn public_key(&self, key: &KmsKey) -> Result<RsaPublicKey, SigningError> {
        key.public
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_public_key()
                    .key_id(&key.key_id)
                    .send()
                    .await
                    .map_err(|e| unavailable("GetPublicKey", &key.key_id, e))?;
                let der = out.public_key().ok_or_else(|| {
                    SigningError::BadKey(Box::new(Invariant("GetPublicKey returned no key")))
                })?;
                RsaPublicKey::from_spki_der(der.as_ref())
            })
            .await
            .cloned()
    }
}

fn unavailable(
    call: &str,
    key_id: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> SigningError {
    SigningError::Unavailable(Box::new(context(format!("kms:{call} on {key_id}"), e)))
}

#[async_trait]
impl PublicKeySet for KmsKeys {
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError> {
        let mut published = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            published.push(PublishedKey {
                state: key.state,
                key: self.public_key(key).await?,
            });
        }
        Ok(published)
    }
}

/// Signs with the current KMS key and publishes every configured one.
pub struct KmsSigner {
    keys: KmsKeys,
}

impl KmsSigner {
    /// Signs with the set's current key; its next and previous keys are
    /// only published.
    pub fn new(keys: KmsKeys) -> Self {
        Self { keys }
    }

    /// As [`KmsKeys::from_settings`].
    pub fn from_settings(keys: &SigningKeys, aws: &AwsEnvironment) -> Self {
        Self::new(KmsKeys::from_settings(keys, aws))
    }
}

#[async_trait]
impl AccessTokenSigner for KmsSigner {
    async fn key_id(&self) -> Result<String, SigningError> {
        let current = self.keys.current()?;
        Ok(self.keys.public_key(current).await?.thumbprint())
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SigningError> {
        let key = self.keys.current()?;
        let out = self
            .keys
            .client
            .sign()
            .key_id(&key.key_id)
            .message(Blob::new(Sha256::digest(signing_input).to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
            .send()
            .await
            .map_err(|e| unavailable("Sign", &key.key_id, e))?;
        out.signature().map(|s| s.as_ref().to_vec()).ok_or_else(|| {
            SigningError::Unavailable(Box::new(Invariant("kms:Sign returned no signature")))
        })
    }

    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError> {
        self.keys.published_keys().await
    }
}
