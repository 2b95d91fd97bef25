//! The table's items as typed records: one struct per item type, whose
//! serde names are the attribute names, so `serde_dynamo` writes numbers as
//! `N`, strings as `S`, lists as `L`, and leaves absent options absent.
//! Compiled without the SDK too: the send-email stream consumer decodes
//! outbox and intake images through `OutboxRecord` and `IntakeRecord`.

mod accounts;
mod credentials;
mod journal;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use accounts::{ApiKeyRecord, EmailRecord, UserRecord};
pub use credentials::{CodeRecord, FamilyRecord, GrantRecord, RefreshRecord};
pub use journal::{AuditRecord, Hits, IntakeRecord, OutboxRecord};

use super::table;
use crate::crypto::SecretDigest;
use crate::domain::UserId;
use crate::store::StoreError;

/// How long records outlive their use before TTL deletion (forensics, and
/// so a late stream retry still finds its outbox item).
pub(super) const GRANT_RETENTION: Duration = Duration::from_secs(24 * 3600);
pub(super) const OUTBOX_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
/// An address request not delivered within a day is dropped: its link
/// would have expired long before, and the stream keeps records 24 hours.
pub(super) const INTAKE_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// One type of item. Its `kind` attribute, which every item carries (the
/// stream filter selects on it), is added on the way in and ignored on the
/// way out.
pub trait Record: Serialize + DeserializeOwned {
    const KIND: &'static str;

    fn to_item<I: From<serde_dynamo::Item>>(&self) -> Result<I, StoreError> {
        let mut item: serde_dynamo::Item =
            serde_dynamo::to_item(self).map_err(|e| StoreError::Request(Box::new(e)))?;
        item.insert(
            table::KIND_ATTRIBUTE.to_string(),
            serde_dynamo::AttributeValue::S(Self::KIND.to_string()),
        );
        Ok(item.into())
    }

    fn from_item<I: Into<serde_dynamo::Item>>(item: I) -> Result<Self, StoreError> {
        serde_dynamo::from_item(item).map_err(|e| {
            StoreError::Corrupt(Box::new(crate::error::context(
                format!("{} item", Self::KIND),
                e,
            )))
        })
    }
}

/// The digest a key's partition names after `prefix`.
pub(super) fn digest_in(pk: &str, prefix: &str) -> Result<SecretDigest, StoreError> {
    pk.strip_prefix(prefix)
        .map(|d| SecretDigest::from_hex(d.to_string()))
        .ok_or_else(|| StoreError::corrupt(format!("{prefix} item {pk:?}")))
}

pub(super) fn user_id(id: &str, whose: &str) -> Result<UserId, StoreError> {
    UserId::parse(id).ok_or_else(|| StoreError::corrupt(format!("{whose} user id {id:?}")))
}
