//! The table's layout: its keys, TTL and `kind` attributes, shared by
//! `provision.rs` (`rekeyctl table create`), the records, the stream
//! consumer and (checked by a test) template.yaml. No SDK here.

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "ttl";
/// Every item's type; the stream filter selects `kind` outbox and intake.
pub const KIND_ATTRIBUTE: &str = "kind";
pub use crate::store::{INTAKE_KIND, OUTBOX_KIND};
