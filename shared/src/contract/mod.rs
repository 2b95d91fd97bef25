//! The published HTTP contracts rekey speaks. Each module holds its request
//! and response types and maps `Failure` to its dialect in one function.

pub mod account;
pub mod django;
pub mod page;
pub mod payabli;
pub mod unleash;
pub mod zitadel;

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

/// Adds `Retry-After` to a rate-limited answer; every dialect's renderer
/// passes its response through here.
pub(crate) fn with_retry_after(
    mut resp: lambda_http::Response<lambda_http::Body>,
    retry_after: Option<u64>,
) -> lambda_http::Response<lambda_http::Body> {
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(::http::header::RETRY_AFTER, ::http::HeaderValue::from(secs));
    }
    resp
}

impl Failure {
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            Failure::Reset(ResetError::RateLimited { retry_after }) => Some(*retry_after),
            _ => None,
        }
    }

    /// The `Reason` dimension of the `Rejections` metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Request(RequestError::UnsupportedMediaType) => "unsupported_media_type",
            Failure::Request(RequestError::PayloadTooLarge) => "payload_too_large",
            Failure::Request(_) => "bad_request",
            Failure::Reset(e) => match e {
                ResetError::Unauthenticated => "unauthenticated",
                ResetError::Forbidden(_) => "forbidden",
                ResetError::InvalidToken => "invalid_token",
                ResetError::UsedToken => "used_token",
                ResetError::WeakPassword(_) => "weak_password",
                ResetError::UserNotFound => "user_not_found",
                ResetError::CodeExpired => "code_expired",
                ResetError::CodeMismatch => "code_mismatch",
                ResetError::WrongCurrentPassword => "wrong_current_password",
                ResetError::VerificationRequired => "verification_required",
                ResetError::InvalidSignature => "invalid_signature",
                ResetError::SignatureExpired => "signature_expired",
                ResetError::NotConfigured(_) => "not_configured",
                ResetError::RateLimited { .. } => "rate_limited",
                ResetError::Unavailable(_) => "unavailable",
                ResetError::Internal(_) => "internal",
            },
        }
    }

    /// Server-side failures are logged with their cause; client errors are
    /// not (their text could only echo what the client sent).
    pub(crate) fn log(&self, function: &str) {
        crate::metrics::count(crate::metrics::Metric::Rejections(self.reason()));
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
