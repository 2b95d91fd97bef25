//! What rekeyctl says when a command fails: one message for the operator,
//! with every cause behind it (`rekey::error::Chain`), never just the
//! outermost error's words.

use std::error::Error;
use std::fmt;

use rekey::error::Chain;

/// A failed command's message.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// `error` and each of its sources, `outer: inner: innermost`.
    pub fn of(error: impl Error + 'static) -> Self {
        Failure(Chain(&error).to_string())
    }

    /// What failed, then why: `what: error: its sources`.
    pub fn because(what: impl fmt::Display, error: impl Error + 'static) -> Self {
        Failure(format!("{what}: {}", Chain(&error)))
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Failure {}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure(message.to_string())
    }
}

impl From<rekey::StoreError> for Failure {
    fn from(e: rekey::StoreError) -> Self {
        Failure::of(e)
    }
}

impl From<rekey::ConfigError> for Failure {
    fn from(e: rekey::ConfigError) -> Self {
        Failure::of(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_every_cause() {
        let cause =
            rekey::error::context("ResourceNotFoundException", rekey::error::Invariant("x"));
        let e = rekey::StoreError::Unavailable(Box::new(cause));
        assert_eq!(
            Failure::from(e).message(),
            "store unavailable: ResourceNotFoundException: x"
        );
    }
}
