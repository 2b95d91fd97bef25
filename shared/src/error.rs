//! What every layer's error enum keeps: the cause, as a value. An opaque
//! variant (a store that is down, a bug) holds its source, which the one
//! place a failure is logged (`contract::failure`) writes as a chain and
//! no response ever shows.

use std::error::Error;
use std::fmt;

use crate::domain::Scope;
use crate::password::PolicyViolation;

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

/// A remote service's failure as much as may be kept: its error code or
/// the kind of failure ("timeout"), never its message, which may quote
/// recipients or values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct ServiceFailure(pub String);

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

/// The domain's one error type, shared by every service: what can go
/// wrong, independent of any contract's dialect (each contract maps it in
/// exactly one place, its `Dialect`).
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("missing or unknown API key")]
    Unauthenticated,
    #[error("API key lacks scope {}", .0.as_str())]
    Forbidden(Scope),
    /// Unknown, malformed, expired, or voided by a password change: the
    /// client is told nothing more specific.
    #[error("invalid or expired token")]
    InvalidToken,
    #[error("token already used")]
    UsedToken,
    #[error("password does not meet the policy")]
    WeakPassword(Vec<PolicyViolation>),
    #[error("no such user")]
    UserNotFound,
    /// A link destination (a `urlTemplate`'s origin) that the user's
    /// organisation does not allow.
    #[error("the link points to an origin that is not allowed")]
    DestinationNotAllowed,
    /// No code, an expired one, one voided by a password change or by too
    /// many attempts.
    #[error("the code is expired or no longer valid; request a new one")]
    CodeExpired,
    #[error("the code is wrong")]
    CodeMismatch,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("a verification code or the current password is required")]
    VerificationRequired,
    #[error("invalid signature")]
    InvalidSignature,
    #[error("signature expired")]
    SignatureExpired,
    /// A delivery channel or feature this deployment does not have.
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    /// The OAuth token or revocation endpoint's refusals.
    #[error(transparent)]
    Token(#[from] TokenRefusal),
    /// Past a limit; try again after this many seconds.
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// A dependency (the store, the directory, the signer) cannot serve
    /// now; a retry may succeed. Its cause is logged, never shown.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] Cause),
    /// A bug or corrupt data; its cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ResetError {
    /// `Internal` with `source`, said to have happened while doing `what`.
    pub(crate) fn internal(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        ResetError::Internal(Box::new(context(what, source)))
    }
}

/// A change that lost its race to another change of the same account,
/// where the caller may simply try again.
#[derive(Debug, thiserror::Error)]
#[error("the account changed meanwhile; retry")]
pub struct AccountChanged;

/// Why the token or revocation endpoint refuses a request, in the terms of
/// RFC 6749 5.2; each contract's dialect renders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// Unknown client, wrong secret or wrong method; `basic` when the
    /// request used HTTP Basic (the answer then names the scheme).
    #[error("client authentication failed")]
    InvalidClient { basic: bool },
    #[error("this client may not use this grant")]
    UnauthorizedClient,
    /// Wrong credentials, or a refresh token that is unknown, expired,
    /// rotated, revoked or voided by a password change.
    #[error("the credentials or the refresh token are invalid")]
    InvalidGrant,
    #[error("the requested scope is invalid or exceeds what was granted")]
    InvalidScope,
    #[error("the grant type is not supported")]
    UnsupportedGrantType,
    /// The accounts live in a directory that keeps the passwords (a
    /// Cognito pool): rekey has no hash to check, sign in at the pool.
    #[error(
        "the password grant is not available: accounts live in a Cognito user pool, sign in against the pool"
    )]
    PasswordGrantUnavailable,
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
