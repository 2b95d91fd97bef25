//! The AWS KMS adapter: `Sign` (RSASSA_PKCS1_V1_5_SHA_256 over the SHA-256
//! digest) under the current key, `GetPublicKey` for the JWKS, each public
//! key cached in memory after its first call. The private key never leaves
//! KMS.

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{AccessTokenSigner, KeyState, PublishedKey, RsaPublicKey, SigningError};

/// `REKEY_SIGNING_KEY` (key id, ARN or alias) names the key that signs.
use super::SIGNING_KEY_VAR as CURRENT_VAR;

struct KmsKey {
    state: KeyState,
    key_id: String,
    public: OnceCell<RsaPublicKey>,
}

/// Signs with KMS keys named by id, ARN or alias.
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    keys: Vec<KmsKey>,
}

impl KmsSigner {
    /// `current` signs; `next` and `previous` are only published.
    pub fn new(
        client: aws_sdk_kms::Client,
        current: String,
        next: Option<String>,
        previous: Option<String>,
    ) -> Self {
        let keys = super::key_slots(current, next, previous)
            .map(|(state, key_id)| KmsKey {
                state,
                key_id,
                public: OnceCell::new(),
            })
            .collect();
        Self { client, keys }
    }

    /// The signing key from `lookup` (a function's environment) with the
    /// Lambdas' SDK configuration; None when `REKEY_SIGNING_KEY` is not set
    /// (a function that does not sign). Only that key: a function that
    /// signs neither publishes keys nor verifies tokens, which discovery
    /// and oauth-userinfo do with every key of a rotation (`kms_keys`).
    /// Builds the client only; no network.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let current = var(CURRENT_VAR)?;
        let config = crate::aws::sdk_config_from_vars("KMS", var);
        Some(Self::new(
            aws_sdk_kms::Client::new(&config),
            current,
            None,
            None,
        ))
    }

    fn current(&self) -> &KmsKey {
        &self.keys[0]
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
                let der = out
                    .public_key()
                    .ok_or_else(|| SigningError::BadKey("GetPublicKey returned no key".into()))?;
                RsaPublicKey::from_spki_der(der.as_ref())
            })
            .await
            .cloned()
    }
}

fn unavailable(call: &str, key_id: &str, e: impl std::error::Error) -> SigningError {
    let cause = aws_sdk_kms::error::DisplayErrorContext(e);
    SigningError::Unavailable(format!("kms:{call} on {key_id}: {cause}"))
}

#[async_trait]
impl AccessTokenSigner for KmsSigner {
    async fn key_id(&self) -> Result<String, SigningError> {
        Ok(self.public_key(self.current()).await?.thumbprint())
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SigningError> {
        let key = self.current();
        let out = self
            .client
            .sign()
            .key_id(&key.key_id)
            .message(Blob::new(Sha256::digest(signing_input).to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
            .send()
            .await
            .map_err(|e| unavailable("Sign", &key.key_id, e))?;
        out.signature()
            .map(|s| s.as_ref().to_vec())
            .ok_or_else(|| SigningError::Unavailable("kms:Sign returned no signature".into()))
    }

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
