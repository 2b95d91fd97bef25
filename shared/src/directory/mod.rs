//! The directory port: where accounts live and where a new password goes.
//! Grants, codes, limits, the outbox and credential versions stay in
//! rekey's own store whichever directory holds the accounts.
//!
//! Two adapters: `RekeyAccounts` (rekey's own table, the default: the
//! password is the argon2id hash the change transaction writes) and, with
//! the `cognito` feature, `cognito::CognitoPool` (an Amazon Cognito user
//! pool keeps the password; rekey keeps a credential-version record per
//! pool user, keyed by the pool's `sub`).

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{AwsEnvironment, DirectoryChoice};
use crate::domain::{EmailAddress, User, UserId};
use crate::password::{NewPassword, PolicyViolation};
use crate::store::{Store, StoreError};

#[cfg(feature = "cognito")]
pub mod cognito;
#[cfg(not(feature = "cognito"))]
mod unlinked;

/// The directory `choice` names, over `store`, with the Lambdas' SDK
/// configuration (region, credentials and endpoint from the environment;
/// `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` wins over
/// `AWS_ENDPOINT_URL`). A pool in a build without the `cognito` feature is
/// a configuration error: such a function would look accounts up in the
/// wrong place.
pub fn from_environment(
    choice: &DirectoryChoice,
    store: Arc<dyn Store>,
    #[cfg_attr(not(feature = "cognito"), allow(unused_variables))] aws: &AwsEnvironment,
) -> Result<Arc<dyn Directory>, crate::ConfigError> {
    match choice {
        DirectoryChoice::Rekey => Ok(Arc::new(RekeyAccounts::new(store))),
        #[cfg(feature = "cognito")]
        DirectoryChoice::Cognito { pool_id, client_id } => {
            Ok(Arc::new(cognito::CognitoPool::from_sdk_config(
                &crate::aws::environment_sdk_config(aws, "COGNITO_IDENTITY_PROVIDER"),
                pool_id.clone(),
                client_id.clone(),
                store,
            )))
        }
        // The functions that never touch the pool are built without its
        // SDK; they only need to know that rekey holds no passwords.
        #[cfg(not(feature = "cognito"))]
        DirectoryChoice::Cognito { .. } => Ok(Arc::new(unlinked::PoolNotLinked)),
    }
}

/// The tokens a directory signs a user in with (the pool's own, for
/// APIs that already trust the pool).
pub struct DirectorySession {
    pub access_token: String,
    pub expires_in: u64,
    pub token_type: String,
    pub refresh_token: secrecy::SecretString,
    pub client_id: String,
    pub scope: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The directory refused the password (its own policy, stricter than
    /// rekey's): the rule it names.
    #[error("the directory refused the password: {}", .0.message)]
    PasswordRefused(PolicyViolation),
    /// The account went away between the look-up and the write.
    #[error("no such account in the directory")]
    UserGone,
    /// Throttled or unreachable: retrying later may succeed.
    #[error("directory unavailable")]
    Unavailable(#[source] crate::error::Cause),
    /// A variable this operation needs is not set.
    #[error("{0} is not set")]
    NotConfigured(&'static str),
    #[error("directory error")]
    Internal(#[source] crate::error::Cause),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DirectoryError> for crate::ResetError {
    fn from(e: DirectoryError) -> Self {
        use crate::ResetError;
        match e {
            DirectoryError::PasswordRefused(violation) => ResetError::WeakPassword(vec![violation]),
            DirectoryError::UserGone => ResetError::InvalidToken,
            e @ DirectoryError::Unavailable(_) => ResetError::Unavailable(Box::new(e)),
            DirectoryError::NotConfigured(variable) => {
                tracing::error!(variable, "configuration error: variable not set");
                ResetError::Unavailable(Box::new(DirectoryError::NotConfigured(variable)))
            }
            e @ DirectoryError::Internal(_) => ResetError::Internal(Box::new(e)),
            DirectoryError::Store(e) => e.into(),
        }
    }
}

/// Where accounts are looked up and where passwords are set.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The account at `email`, or None: with a pool, only an enabled,
    /// confirmed user that is the only one with the address.
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, DirectoryError>;
    /// The account with this id (a pool takes its `sub` or its username).
    /// Disabled accounts are returned with `disabled` set.
    async fn user(&self, id: &UserId) -> Result<Option<User>, DirectoryError>;
    /// Whether the directory keeps the password itself (`set_password`
    /// writes it) rather than rekey's hash in the change transaction.
    fn keeps_passwords(&self) -> bool;
    /// Sets an already policy-checked password, permanently.
    async fn set_password(&self, user: &User, password: &NewPassword)
    -> Result<(), DirectoryError>;
    /// Ends every session the directory issued to the user.
    async fn sign_out(&self, user: &UserId) -> Result<(), DirectoryError>;
    /// Signs the user in with the directory's own tokens; None when rekey
    /// issues its own (its table holds the password).
    async fn sign_in(
        &self,
        user: &User,
        password: &NewPassword,
    ) -> Result<Option<DirectorySession>, DirectoryError>;
    /// Fails with `NotConfigured` when `sign_in` cannot work, checked
    /// before a credential is spent on it.
    fn can_sign_in(&self) -> Result<(), DirectoryError> {
        Ok(())
    }
}

/// rekey's own accounts: today's behaviour, through the store.
pub struct RekeyAccounts {
    store: Arc<dyn Store>,
}

impl RekeyAccounts {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Directory for RekeyAccounts {
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, DirectoryError> {
        Ok(self.store.user_by_email(email).await?)
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, DirectoryError> {
        Ok(self.store.user(id).await?)
    }

    fn keeps_passwords(&self) -> bool {
        false
    }

    /// The hash goes in the change transaction: nothing to do here.
    async fn set_password(&self, _: &User, _: &NewPassword) -> Result<(), DirectoryError> {
        Ok(())
    }

    /// rekey's sessions end with the credential version the change bumps.
    async fn sign_out(&self, _: &UserId) -> Result<(), DirectoryError> {
        Ok(())
    }

    async fn sign_in(
        &self,
        _: &User,
        _: &NewPassword,
    ) -> Result<Option<DirectorySession>, DirectoryError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_errors_map_to_the_reset_errors_each_dialect_renders() {
        use crate::ResetError;
        assert!(matches!(
            ResetError::from(DirectoryError::NotConfigured(crate::config::CLIENT_ID_VAR)),
            ResetError::Unavailable(cause) if crate::error::Chain(cause.as_ref()).to_string().contains(crate::config::CLIENT_ID_VAR)
        ));
        assert!(matches!(
            ResetError::from(DirectoryError::Unavailable(Box::new(
                crate::error::Invariant("ListUsers: throttled")
            ))),
            ResetError::Unavailable(_)
        ));
        assert!(matches!(
            ResetError::from(DirectoryError::UserGone),
            ResetError::InvalidToken
        ));
    }
}
