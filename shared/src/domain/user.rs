//! An account.

use serde::{Deserialize, Serialize};

use super::{CredentialVersion, EmailAddress, UnixTime, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub org: Option<String>,
    pub locale: Option<String>,
    /// argon2id PHC string; None for an account that never set a password.
    pub password_hash: Option<String>,
    pub credential_version: CredentialVersion,
    /// Earlier hashes, newest first, when the policy keeps a history.
    pub password_history: Vec<String>,
    pub disabled: bool,
    pub created_at: UnixTime,
    /// Counts changes to the account (codes issued, passwords set): Zitadel's
    /// `details.sequence`.
    pub sequence: u64,
    pub changed_at: UnixTime,
}

impl User {
    /// A new account, created (and last changed) at `at`.
    pub fn new(id: UserId, email: EmailAddress, at: UnixTime) -> Self {
        Self {
            id,
            email,
            name: None,
            org: None,
            locale: None,
            password_hash: None,
            credential_version: CredentialVersion(0),
            password_history: Vec::new(),
            disabled: false,
            created_at: at,
            sequence: 0,
            changed_at: at,
        }
    }

    /// Display name for a greeting: the name, else the address's local part.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string()
        })
    }
}
