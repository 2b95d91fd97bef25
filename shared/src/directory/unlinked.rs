//! A Cognito pool named in the environment of a function built without
//! the `cognito` feature (oauth-token, oauth-revoke, oauth-userinfo: they
//! never need the pool's SDK). It tells the flows that a directory keeps
//! the passwords, so the password grant refuses clearly instead of
//! comparing against hashes rekey does not have; anything else is a
//! configuration error, logged and answered as the dialect's 503.

use async_trait::async_trait;

use super::{Directory, DirectoryError, DirectorySession};
use crate::domain::{EmailAddress, User, UserId};
use crate::password::NewPassword;

/// What the error names: the build, not a variable the operator can set.
const NOT_LINKED: &str = "the `cognito` feature (this function is built without it)";

pub struct PoolNotLinked;

#[async_trait]
impl Directory for PoolNotLinked {
    async fn user_by_email(&self, _: &EmailAddress) -> Result<Option<User>, DirectoryError> {
        Err(DirectoryError::NotConfigured(NOT_LINKED))
    }

    async fn user(&self, _: &UserId) -> Result<Option<User>, DirectoryError> {
        Err(DirectoryError::NotConfigured(NOT_LINKED))
    }

    fn keeps_passwords(&self) -> bool {
        true
    }

    async fn set_password(&self, _: &User, _: &NewPassword) -> Result<(), DirectoryError> {
        Err(DirectoryError::NotConfigured(NOT_LINKED))
    }

    async fn sign_out(&self, _: &UserId) -> Result<(), DirectoryError> {
        Err(DirectoryError::NotConfigured(NOT_LINKED))
    }

    async fn sign_in(
        &self,
        _: &User,
        _: &NewPassword,
    ) -> Result<Option<DirectorySession>, DirectoryError> {
        Err(DirectoryError::NotConfigured(NOT_LINKED))
    }

    fn can_sign_in(&self) -> Result<(), DirectoryError> {
        Err(DirectoryError::NotConfigured(NOT_LINKED))
    }
}
