//! The published HTTP contracts rekey speaks. Each module holds its request
//! and response types and one [`Dialect`]: the one place it maps a
//! [`Failure`] to its error responses. Every handler answers through
//! [`answer`], and every public (keyless) one starts with [`public_caller`]
//! or [`public_json`].

pub mod account;
pub mod discovery;
pub mod django;
pub mod oauth;
pub mod page;
pub mod payabli;
pub mod unleash;
pub mod zitadel;

mod dispatch;
mod failure;
mod public;

pub use failure::Failure;
pub(crate) use failure::{Dialect, answer};
pub(crate) use public::{public_caller, public_json};
