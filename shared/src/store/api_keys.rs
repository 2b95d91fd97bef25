//! API keys: the callers of the key-authenticated contracts.

use async_trait::async_trait;

use super::StoreError;
use crate::crypto::SecretDigest;
use crate::domain::ApiKey;

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError>;
    /// Every key (digests and metadata only), oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Marks a key revoked; `Conflict` if no key has that digest.
    async fn revoke_api_key(&self, digest: &SecretDigest) -> Result<(), StoreError>;
}
