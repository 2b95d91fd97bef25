//! What every layer's error enum keeps: the cause, as a value. An opaque
//! variant (a store that is down, a bug) holds its source, which the one
//! place a failure is logged (`contract::failure`) writes as a chain and
//! no response ever shows.

use std::error::Error;
use std::fmt;

/// The cause an opaque error variant keeps.
pub type Cause = Box<dyn Error + Send + Sync + 'static>;

/// A cause with what was being done when it happened: `kms:Sign on
/// alias/rekey`, `intake 1234`.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct Context {
    what: String,
    #[source]
    source: Cause,
}

/// `source`, said to have happened while doing `what`.
pub fn context(what: impl Into<String>, source: impl Into<Cause>) -> Context {
    Context {
        what: what.into(),
        source: source.into(),
    }
}

/// Something that cannot happen unless the code or the data is wrong: a
/// cause without a source of its own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invariant(pub &'static str);

/// An error and its sources on one line, `outer: inner: innermost`: how
/// causes are logged.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the store")]
    struct Outer(#[source] Context);

    #[test]
    fn a_chain_names_every_cause_in_order() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out");
        let e = Outer(context("GetItem on rekey", io));
        assert_eq!(
            Chain(&e).to_string(),
            "the store: GetItem on rekey: timed out"
        );
        assert_eq!(Chain(&Invariant("no tokens")).to_string(), "no tokens");
    }
}
