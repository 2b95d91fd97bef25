//! API keys: the callers of the key-authenticated contracts, and the
//! organisations a key acts for.

use std::sync::Arc;

use crate::crypto::{API_KEY_PREFIX, BearerSecret, SecretDigest};
use crate::domain::{ApiKey, Scope, User};
use crate::error::ResetError;
use crate::store::ApiKeyStore;

/// Checks presented API keys and what they reach.
#[derive(Clone)]
pub struct KeyGuard {
    keys: Arc<dyn ApiKeyStore>,
    /// `resourceOwner` of users without an org, and what keys without a
    /// binding act for.
    default_org: String,
}

impl KeyGuard {
    pub fn new(keys: Arc<dyn ApiKeyStore>, default_org: String) -> Self {
        Self { keys, default_org }
    }

    /// Checks an API key presented by a caller for `scope`.
    pub async fn authorize(
        &self,
        presented: Option<&str>,
        scope: Scope,
    ) -> Result<ApiKey, ResetError> {
        let secret = presented
            .map(str::trim)
            .and_then(|raw| BearerSecret::parse(API_KEY_PREFIX, raw))
            .ok_or(ResetError::Unauthenticated)?;
        let key = self
            .live_key(&secret.digest())
            .await?
            .ok_or(ResetError::Unauthenticated)?;
        if !key.allows(scope) {
            return Err(ResetError::Forbidden(scope));
        }
        Ok(key)
    }

    /// The key with `digest`, unless unknown or revoked (a request checked
    /// at intake is checked again at delivery).
    pub(crate) async fn live_key(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<ApiKey>, ResetError> {
        Ok(self.keys.api_key(digest).await?.filter(|k| !k.revoked))
    }

    /// The organisation a user belongs to: its own, else the default.
    pub fn org_of(&self, user: &User) -> String {
        user.org.clone().unwrap_or_else(|| self.default_org.clone())
    }

    /// Whether `key` may act on `user`: only on users of the organisation
    /// the key is bound to, unless it is an operator's key for all.
    pub fn reaches(&self, key: &ApiKey, user: &User) -> bool {
        key.org.reaches(&self.org_of(user), &self.default_org)
    }
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use crate::ResetError;
    use crate::domain::Scope;
    use crate::testing::{Fixture, fixture_with};

    #[tokio::test]
    async fn authorize_checks_key_scope_and_revocation() {
        let f: Fixture = fixture_with(&[]).await;
        let raw = f.add_key(&[Scope::ResetRequest]).await;
        assert!(
            f.keys
                .authorize(Some(&format!("  {raw} ")), Scope::ResetRequest)
                .await
                .is_ok()
        );
        assert!(matches!(
            f.keys.authorize(Some(&raw), Scope::UsersAdmin).await,
            Err(ResetError::Forbidden(Scope::UsersAdmin))
        ));
        assert!(matches!(
            f.keys.authorize(None, Scope::ResetRequest).await,
            Err(ResetError::Unauthenticated)
        ));
        assert!(matches!(
            f.keys
                .authorize(Some("rkk_not-a-key"), Scope::ResetRequest)
                .await,
            Err(ResetError::Unauthenticated)
        ));
        let digest = crate::crypto::BearerSecret::parse(crate::crypto::API_KEY_PREFIX, &raw)
            .unwrap()
            .digest();
        f.store.revoke_api_key(&digest).await.unwrap();
        assert!(matches!(
            f.keys.authorize(Some(&raw), Scope::ResetRequest).await,
            Err(ResetError::Unauthenticated)
        ));
    }
}
