//! The version every credential of a user is bound to.

use serde::{Deserialize, Serialize};

/// Incremented on every password change; every token, code, signature and
/// refresh token records the version it was issued under and dies with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CredentialVersion(pub u64);

impl CredentialVersion {
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}
