//! API keys: what a key may do and whose users it reaches.

use serde::{Deserialize, Serialize};

use super::UnixTime;
use crate::crypto::SecretDigest;

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Scope {
    #[serde(rename = "reset:request")]
    ResetRequest,
    #[serde(rename = "users:write")]
    UsersWrite,
    #[serde(rename = "users:admin")]
    UsersAdmin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::ResetRequest, Scope::UsersWrite, Scope::UsersAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ResetRequest => "reset:request",
            Scope::UsersWrite => "users:write",
            Scope::UsersAdmin => "users:admin",
        }
    }
}

/// A scope name rekey does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: expected one of {scopes}", scopes = Scope::ALL.map(Scope::as_str).join(", "))]
pub struct UnknownScope(pub String);

impl std::str::FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|sc| sc.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_string()))
    }
}

/// The organisations an API key acts for: a partner's key reaches only the
/// users of its own organisation, an operator's key every organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrgBinding {
    /// The configured default organisation (`REKEY_DEFAULT_ORG`). Keys
    /// stored before keys had a binding read as this: the narrowest
    /// binding that keeps a single-tenant deployment working.
    #[default]
    DefaultOrg,
    Org(String),
    AllOrgs,
}

impl OrgBinding {
    /// How the stores write the binding: absent for the default
    /// organisation, `*` for all, else the organisation's name.
    pub const ALL_ORGS: &'static str = "*";

    pub fn stored(&self) -> Option<&str> {
        match self {
            OrgBinding::DefaultOrg => None,
            OrgBinding::Org(org) => Some(org),
            OrgBinding::AllOrgs => Some(Self::ALL_ORGS),
        }
    }

    pub fn from_stored(raw: Option<&str>) -> Self {
        match raw {
            None => OrgBinding::DefaultOrg,
            Some(Self::ALL_ORGS) => OrgBinding::AllOrgs,
            Some(org) => OrgBinding::Org(org.to_string()),
        }
    }

    /// Whether a key with this binding may act on a user of `org`, where
    /// `default_org` is the deployment's default organisation.
    pub fn reaches(&self, org: &str, default_org: &str) -> bool {
        match self {
            OrgBinding::DefaultOrg => org == default_org,
            OrgBinding::Org(bound) => org == bound,
            OrgBinding::AllOrgs => true,
        }
    }
}

/// An API key as stored: only the digest of the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub digest: SecretDigest,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: UnixTime,
    pub revoked: bool,
    #[serde(default)]
    pub org: OrgBinding,
}

impl ApiKey {
    pub fn allows(&self, scope: Scope) -> bool {
        !self.revoked && self.scopes.contains(&scope)
    }
}
