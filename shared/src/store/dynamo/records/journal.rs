//! The records of the audit trail, the outbox and the intake, and a
//! counter's hits.

use serde::{Deserialize, Serialize};

use super::{INTAKE_RETENTION, OUTBOX_RETENTION, Record, user_id};
use crate::domain::{AuditEvent, IntakeItem, OutboxItem, UnixTime};
use crate::store::StoreError;
use crate::store::dynamo::keys::Key;
use crate::store::dynamo::table;

#[derive(Serialize, Deserialize)]
pub struct AuditRecord {
    pub pk: String,
    pub sk: String,
    pub id: String,
    pub user_id: String,
    pub action: String,
    pub outcome: String,
    pub at: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub expires_at: UnixTime,
    #[serde(default)]
    pub ttl: UnixTime,
}

impl Record for AuditRecord {
    const KIND: &'static str = "audit";
}

impl From<&AuditEvent> for AuditRecord {
    fn from(e: &AuditEvent) -> Self {
        let Key { pk, sk } = Key::audit(e);
        Self {
            pk,
            sk,
            id: e.id.clone(),
            user_id: e.user_id.as_str().to_string(),
            action: e.action.clone(),
            outcome: e.outcome.clone(),
            at: e.at,
            source_ip: e.source_ip.clone(),
            user_agent: e.user_agent.clone(),
            expires_at: e.expires_at,
            ttl: e.expires_at,
        }
    }
}

impl TryFrom<AuditRecord> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRecord) -> Result<Self, StoreError> {
        Ok(AuditEvent {
            user_id: user_id(&r.user_id, "audit event's")?,
            id: r.id,
            action: r.action,
            outcome: r.outcome,
            at: r.at,
            source_ip: r.source_ip,
            user_agent: r.user_agent,
            expires_at: r.expires_at,
        })
    }
}

/// The record of a sealed queue item: the same attributes for the outbox
/// and the intake, each read by the store (GetItem, Scan) and, from the
/// table's stream images, by the send-email function.
macro_rules! sealed_record {
    ($(#[doc = $doc:literal])* $record:ident for $item:ident: $kind:expr, $key:path, $retention:expr) => {
        $(#[doc = $doc])*
        #[derive(Serialize, Deserialize)]
        pub struct $record {
            pub pk: String,
            pub sk: String,
            pub id: String,
            pub sealed: String,
            pub created_at: UnixTime,
            #[serde(default)]
            pub ttl: UnixTime,
        }

        impl Record for $record {
            const KIND: &'static str = $kind;
        }

        impl From<&$item> for $record {
            fn from(m: &$item) -> Self {
                let Key { pk, sk } = $key(&m.id);
                Self {
                    pk,
                    sk,
                    id: m.id.clone(),
                    sealed: m.sealed.clone(),
                    created_at: m.created_at,
                    ttl: m.created_at.plus($retention),
                }
            }
        }

        impl From<$record> for $item {
            fn from(r: $record) -> Self {
                $item {
                    id: r.id,
                    sealed: r.sealed,
                    created_at: r.created_at,
                }
            }
        }
    };
}

sealed_record! {
    /// Sealed mail and webhooks.
    OutboxRecord for OutboxItem: table::OUTBOX_KIND, Key::outbox, OUTBOX_RETENTION
}

sealed_record! {
    /// An address request. Every attribute has the same size whatever the
    /// address (the sealed payload is padded).
    IntakeRecord for IntakeItem: table::INTAKE_KIND, Key::intake, INTAKE_RETENTION
}

/// What a rate counter's update returns.
#[derive(Deserialize)]
pub struct Hits {
    pub hits: u64,
}
