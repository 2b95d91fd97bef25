//! rekeyctl's integration tests, one binary: each former test file is a
//! module here. Each test runs its own `rekeyctl` processes on its own data
//! directory and port; the one that measures time runs alone (see
//! `support::alone_on_the_machine`).

// Test code: a failed unwrap or expect is a failed test (clippy.toml allows
// them in #[test] functions; the helpers here need the same).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod enumeration;
mod operator;
mod serve;
