//! Comparing a presented password with an account's: the one comparison
//! every check of a current password goes through (the current-password
//! proof, the history rule, the sign-in), each counted against the
//! password-attempt limits first, so none is a free oracle.

use std::sync::Arc;

use super::Limiter;
use super::limits::password_counter;
use crate::domain::{ClientInfo, User};
use crate::error::ResetError;
use crate::password::{CredentialHasher, NewPassword, Verification};
use crate::store::{AccountStore, StoreError};

/// Verifies passwords against stored hashes, within the limits.
#[derive(Clone)]
pub struct PasswordGuard {
    hasher: CredentialHasher,
    limiter: Limiter,
    /// Where an outdated hash is upgraded.
    accounts: Arc<dyn AccountStore>,
}

impl PasswordGuard {
    pub fn new(
        hasher: CredentialHasher,
        limiter: Limiter,
        accounts: Arc<dyn AccountStore>,
    ) -> Self {
        Self {
            hasher,
            limiter,
            accounts,
        }
    }

    pub fn hasher(&self) -> &CredentialHasher {
        &self.hasher
    }

    /// Whether `password` is the user's current password. Counted against
    /// the password-attempt limits first (`RateLimited` past them). A match
    /// against a hash that is not argon2id with the configured parameters
    /// (an older cost, or bcrypt / Django pbkdf2_sha256 from an import)
    /// upgrades the stored hash, conditionally on it being unchanged; the
    /// upgrade is not a password change (no new credential version, no mail).
    pub async fn verify(
        &self,
        user: &User,
        password: &str,
        client: &ClientInfo,
    ) -> Result<bool, ResetError> {
        self.limiter.limit_password_attempts(user, client).await?;
        // The same work with or without a hash, whatever its scheme
        // (password::uniform).
        let hash = user.password_hash.clone();
        let hasher = self.hasher.clone();
        let password = zeroize::Zeroizing::new(password.to_string());
        let (verdict, password) = tokio::task::spawn_blocking(move || {
            let (verdict, _) = hasher.verify_uniform(&password, hash.as_deref());
            (verdict, password)
        })
        .await
        .map_err(|e| ResetError::Internal(Box::new(e)))?;
        match verdict {
            Verification::Mismatch => Ok(false),
            Verification::Match {
                needs_rehash: false,
            } => Ok(true),
            Verification::Match { needs_rehash: true } => {
                let upgraded = self
                    .hasher
                    .hash_off_executor(NewPassword::normalize(&password))
                    .await
                    .map_err(|e| ResetError::Internal(Box::new(e)))?;
                let old = user.password_hash.as_deref().unwrap_or_default();
                match self
                    .accounts
                    .update_password_hash(&user.id, old, &upgraded)
                    .await
                {
                    Ok(()) => tracing::info!(user_id = %user.id, "password hash upgraded"),
                    // Changed meanwhile: the newer hash stands.
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => {
                        tracing::warn!(user_id = %user.id, error = %crate::error::Chain(&e), "password hash not upgraded")
                    }
                }
                Ok(true)
            }
        }
    }

    /// What a sign-in without a hash to check costs, so that it costs what
    /// one with a hash costs: the attempt counted under `counter` (an
    /// account's, or an unknown address's reference), then an argon2id
    /// comparison with the current parameters against a hash of nothing
    /// anyone knows.
    pub(crate) async fn refuse_without_a_hash(
        &self,
        counter: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        self.limiter
            .limit_password_attempts_on(counter, client)
            .await?;
        let hasher = self.hasher.clone();
        let password = zeroize::Zeroizing::new(password.to_string());
        tokio::task::spawn_blocking(move || {
            // The same work as a comparison with a hash (password::uniform).
            let (verdict, _) = hasher.verify_uniform(&password, None);
            debug_assert_eq!(verdict, Verification::Mismatch);
        })
        .await
        .map_err(|e| ResetError::Internal(Box::new(e)))
    }

    /// The counter a user's password comparisons count in.
    pub(crate) fn counter(user: &User) -> String {
        password_counter(user)
    }
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use crate::ResetError;
    use crate::domain::ClientInfo;
    use crate::testing::fixture_with;

    /// A stranger past its source's share is refused while the owner, from
    /// another source, still gets through; the account-wide ceiling counts
    /// only what the sources were allowed.
    #[tokio::test]
    async fn password_attempts_are_limited_per_source_then_per_account() {
        let f = fixture_with(&[
            ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "2"),
            ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "5"),
        ])
        .await;
        let user = f.add_user("ada@example.com").await;
        let from = |ip: &str| ClientInfo {
            source_ip: Some(ip.into()),
            ..Default::default()
        };
        let stranger = from("192.0.2.66");
        for _ in 0..2 {
            assert!(
                !f.passwords
                    .verify(&user, "Guess-Guess-1", &stranger)
                    .await
                    .unwrap()
            );
        }
        for _ in 0..10 {
            assert!(matches!(
                f.passwords.verify(&user, "Guess-Guess-1", &stranger).await,
                Err(ResetError::RateLimited { .. })
            ));
        }
        let owner = from("198.51.100.1");
        let old = crate::testing::OLD_PASSWORD;
        assert!(f.passwords.verify(&user, old, &owner).await.unwrap());
        // Without a source address, requests share one bucket.
        let unknown = ClientInfo::default();
        for _ in 0..2 {
            f.passwords
                .verify(&user, "Guess-Guess-1", &unknown)
                .await
                .unwrap();
        }
        // 2 + 1 + 2 reached the account: its ceiling of 5 is met.
        assert!(matches!(
            f.passwords.verify(&user, old, &from("203.0.113.9")).await,
            Err(ResetError::RateLimited { .. })
        ));
        // Another account has its own budget.
        let other = f.add_user("grace@example.com").await;
        assert!(f.passwords.verify(&other, old, &stranger).await.unwrap());
    }
}
