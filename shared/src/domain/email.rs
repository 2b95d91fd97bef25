//! An email address: the account look-up key, never logged in clear.

use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased: the account lookup key.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// A deliberately plain check: one `@`, a non-empty local part, a dotted
    /// domain, no spaces or control characters, at most 254 bytes.
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim().to_lowercase();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = s.split_once('@')?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        ok.then_some(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `a***@example.com`: enough for an operator's console, never a log.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

// An address is personal data: debug output shows only the masked form.
impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}
