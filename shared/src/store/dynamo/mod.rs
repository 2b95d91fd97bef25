//! The DynamoDB store: one table, `pk`/`sk` keys, a `ttl` attribute, and a
//! NEW_IMAGE stream whose intake and outbox items feed the send-email function.
//!
//! Items (pk / sk):
//! - `USER#<id>` / `USER`: the account
//! - `EMAIL#<address>` / `EMAIL`: the address's owner, kept unique by transaction
//! - `KEY#<sha256>` / `KEY`: an API key's digest and scopes
//! - `USER#<id>` / `CODE`: the user's reset code (keyed digest), beside the account
//! - `GRANT#<sha256>` / `GRANT`: a reset grant, keyed by its token's digest
//! - `REFRESH#<sha256>` / `REFRESH`: a refresh token issued at log-in
//! - `OUTBOX#<uuid>` / `OUTBOX`: sealed mail, deleted once sent
//! - `RATE#<key>` / `<window start>`: a rate-limit counter, expiring by TTL
//! - `AUDIT#<user id>` / `<time>#<uuid>`: an audit event, expiring by TTL
//! - `INTAKE#<uuid>` / `INTAKE`: a sealed address request, deleted once delivered, expiring by TTL
//!
//! `table`, `keys` and `records` are the layout and need no SDK; the rest
//! is the client, behind the `dynamodb` feature.

pub mod keys;
pub mod records;
pub mod table;

#[cfg(feature = "dynamodb")]
mod accounts;
#[cfg(feature = "dynamodb")]
mod client;
#[cfg(feature = "dynamodb")]
mod credentials;
#[cfg(feature = "dynamodb")]
mod journal;
#[cfg(feature = "dynamodb")]
mod provision;
#[cfg(feature = "dynamodb")]
mod transactions;

#[cfg(feature = "dynamodb")]
pub use client::DynamoStore;
