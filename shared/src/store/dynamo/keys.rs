//! The `pk` / `sk` of each item type (the table's layout is in mod.rs).

use serde::Serialize;

use crate::crypto::SecretDigest;
use crate::domain::{AuditEvent, EmailAddress, UnixTime, UserId};

/// The start of each item type's `pk`: what IAM's `dynamodb:LeadingKeys`
/// conditions match (the IAM oracle, shared/tests/integration/iam/, names
/// them per store call).
pub mod prefix {
    pub const USER: &str = "USER#";
    pub const EMAIL: &str = "EMAIL#";
    pub const API_KEY: &str = "KEY#";
    pub const GRANT: &str = "GRANT#";
    pub const REFRESH: &str = "REFRESH#";
    pub const FAMILY: &str = "FAMILY#";
    pub const OUTBOX: &str = "OUTBOX#";
    pub const INTAKE: &str = "INTAKE#";
    pub const RATE: &str = "RATE#";
    pub const AUDIT: &str = "AUDIT#";
}

/// An item's `pk` / `sk`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: &str) -> Self {
        Self {
            pk,
            sk: sk.to_string(),
        }
    }
    pub fn user(id: &UserId) -> Self {
        Self::new(format!("{}{id}", prefix::USER), "USER")
    }
    pub fn email(email: &EmailAddress) -> Self {
        Self::new(format!("{}{}", prefix::EMAIL, email.as_str()), "EMAIL")
    }
    pub fn api_key(digest: &SecretDigest) -> Self {
        Self::new(format!("{}{}", prefix::API_KEY, digest.as_str()), "KEY")
    }
    /// Beside the account, under the same partition.
    pub fn code(user: &UserId) -> Self {
        Self::new(format!("{}{user}", prefix::USER), "CODE")
    }
    pub fn grant(digest: &SecretDigest) -> Self {
        Self::new(format!("{}{}", prefix::GRANT, digest.as_str()), "GRANT")
    }
    pub fn refresh(digest: &SecretDigest) -> Self {
        Self::new(format!("{}{}", prefix::REFRESH, digest.as_str()), "REFRESH")
    }
    /// A refresh-token family's state, by the family's id.
    pub fn family(id: &str) -> Self {
        Self::new(format!("{}{id}", prefix::FAMILY), "FAMILY")
    }
    pub fn outbox(id: &str) -> Self {
        Self::new(format!("{}{id}", prefix::OUTBOX), "OUTBOX")
    }
    pub fn intake(id: &str) -> Self {
        Self::new(format!("{}{id}", prefix::INTAKE), "INTAKE")
    }
    pub fn rate(counter: &str, window_start: UnixTime) -> Self {
        Self::new(
            format!("{}{counter}", prefix::RATE),
            &window_start.to_string(),
        )
    }
    /// Sorted by time within the user's partition, so a query reads the
    /// newest first.
    pub fn audit(event: &AuditEvent) -> Self {
        Self::new(
            format!("{}{}", prefix::AUDIT, event.user_id),
            &format!("{:012}#{}", event.at, event.id),
        )
    }
    /// The partition of the user's audit events.
    pub fn audit_partition(user: &UserId) -> String {
        format!("{}{user}", prefix::AUDIT)
    }

    /// The key as the item that addresses a GetItem, UpdateItem or
    /// DeleteItem.
    pub fn to_item<I: From<serde_dynamo::Item>>(&self) -> Result<I, crate::store::StoreError> {
        serde_dynamo::to_item(self).map_err(|e| crate::store::StoreError::Request(Box::new(e)))
    }
}
