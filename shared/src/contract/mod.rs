//! The published HTTP contracts rekey speaks. Each module holds its request
//! and response types and maps `Failure` to its dialect in one function.

pub mod payabli;
pub mod unleash;

use crate::http::RequestError;
use crate::reset::ResetError;

/// Anything a handler can fail with, before its contract renders it.
#[derive(Debug)]
pub enum Failure {
    Request(RequestError),
    Reset(ResetError),
}

impl From<RequestError> for Failure {
    fn from(e: RequestError) -> Self {
        Failure::Request(e)
    }
}

impl From<ResetError> for Failure {
    fn from(e: ResetError) -> Self {
        Failure::Reset(e)
    }
}

impl Failure {
    /// Server-side failures are logged with their cause; client errors are
    /// not (their text could only echo what the client sent).
    pub(crate) fn log(&self, function: &str) {
        match self {
            Failure::Reset(ResetError::Unavailable(cause)) => {
                tracing::warn!(function, cause, "store unavailable")
            }
            Failure::Reset(ResetError::Internal(cause)) => {
                tracing::error!(function, cause, "internal error")
            }
            _ => {}
        }
    }
}
