//! The `pk` / `sk` of each item type (the table's layout is in mod.rs).

use serde::Serialize;

use crate::crypto::SecretDigest;
use crate::domain::{AuditEvent, EmailAddress, UserId};

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
        Self::new(format!("USER#{id}"), "USER")
    }
    pub fn email(email: &EmailAddress) -> Self {
        Self::new(format!("EMAIL#{}", email.as_str()), "EMAIL")
    }
    pub fn api_key(digest: &SecretDigest) -> Self {
        Self::new(format!("KEY#{}", digest.as_str()), "KEY")
    }
    /// Beside the account, under the same partition.
    pub fn code(user: &UserId) -> Self {
        Self::new(format!("USER#{user}"), "CODE")
    }
    pub fn grant(digest: &SecretDigest) -> Self {
        Self::new(format!("GRANT#{}", digest.as_str()), "GRANT")
    }
    pub fn refresh(digest: &SecretDigest) -> Self {
        Self::new(format!("REFRESH#{}", digest.as_str()), "REFRESH")
    }
    pub fn outbox(id: &str) -> Self {
        Self::new(format!("OUTBOX#{id}"), "OUTBOX")
    }
    pub fn intake(id: &str) -> Self {
        Self::new(format!("INTAKE#{id}"), "INTAKE")
    }
    pub fn rate(counter: &str, window_start: i64) -> Self {
        Self::new(format!("RATE#{counter}"), &window_start.to_string())
    }
    /// Sorted by time within the user's partition, so a query reads the
    /// newest first.
    pub fn audit(event: &AuditEvent) -> Self {
        Self::new(
            format!("AUDIT#{}", event.user_id),
            &format!("{:012}#{}", event.at, event.id),
        )
    }
    /// The partition of the user's audit events.
    pub fn audit_partition(user: &UserId) -> String {
        format!("AUDIT#{user}")
    }

    /// The key as the item that addresses a GetItem, UpdateItem or
    /// DeleteItem.
    pub fn to_item<I: From<serde_dynamo::Item>>(&self) -> I {
        serde_dynamo::to_item(self).expect("a key serialises")
    }
}
