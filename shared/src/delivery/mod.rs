//! Delivery: what leaves rekey after a request is answered. The outbox's
//! items (mail through a `Mailer`, webhooks through their sender) and the
//! address requests (through their reset flow), each taken from the
//! table's stream by the send-email function (`stream.rs`) or from the
//! store by the local worker (`Outbox::drain`).

mod outbox;
pub mod stream;

pub use outbox::{Delivery, DeliveryError, Outbox};
