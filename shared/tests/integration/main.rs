//! rekey's integration tests, one binary: each former test file is a module
//! here, so the AWS SDK and the crate are linked once, not once per file.
//! no_secrets_in_logs.rs stays a binary of its own because it installs the
//! process-wide log subscriber.
//!
//! Tests here share a process and run in parallel: none sets environment
//! variables, changes the current directory or installs a global subscriber;
//! each uses its own moto table, data directory, addresses and ports.

// Test code: a failed unwrap or expect is a failed test (clippy.toml allows
// them in #[test] functions; the helpers here need the same).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod cognito_pool;
mod contracts;
mod cross_contract;
mod declaration;
mod directory_conformance;
mod events;
mod faults;
mod iam;
mod iam_reach;
mod kms;
mod limits_and_audit;
mod mail_locales;
mod moto_flow;
mod oauth;
mod openapi;
mod operator_accounts;
mod password_profiles;
mod properties;
mod races_and_hostile_input;
mod recording_store;
mod reset_page;
mod same_work;
mod secret_rotation;
mod signed_links_and_recovery;
mod signing;
mod store_conformance;
mod stored_secrets;
mod template;
mod tenancy;
mod text_sender_conformance;
mod userinfo;
mod webhooks;
mod wiring;
mod zitadel;
mod zitadel_sms;
