//! The one path a handler's failure takes: counted and logged with its
//! function, rendered in the contract's dialect, `Retry-After` added.

use std::future::Future;

use lambda_http::{Body, Response};

use crate::error::Chain;
use crate::http::RequestError;
use crate::reset::ResetError;
use crate::routes::Function;

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

/// A contract's error responses. Each contract implements it once; a
/// contract with several wire forms (Zitadel's REST and Connect) is a value
/// that knows which one the request used. Handlers take it as a generic, not
/// a `dyn`, so each Lambda links only its own contract's renderer.
pub(crate) trait Dialect {
    /// The failure as this contract's status, body and headers, without
    /// `Retry-After`, which [`answer`] adds for every dialect.
    fn render(&self, failure: Failure) -> Response<Body>;
}

/// Runs a handler and returns its response, or its failure logged for
/// `function` and rendered in `dialect`, with `Retry-After` when rate
/// limited.
pub(crate) async fn answer<D: Dialect>(
    function: Function,
    dialect: D,
    handler: impl Future<Output = Result<Response<Body>, Failure>>,
) -> Response<Body> {
    match handler.await {
        Ok(resp) => resp,
        Err(failure) => {
            failure.log(function);
            let retry_after = failure.retry_after();
            let mut resp = dialect.render(failure);
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(::http::header::RETRY_AFTER, ::http::HeaderValue::from(secs));
            }
            resp
        }
    }
}

impl Failure {
    fn retry_after(&self) -> Option<u64> {
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
                ResetError::DestinationNotAllowed => "destination_not_allowed",
                ResetError::CodeExpired => "code_expired",
                ResetError::CodeMismatch => "code_mismatch",
                ResetError::WrongCurrentPassword => "wrong_current_password",
                ResetError::VerificationRequired => "verification_required",
                ResetError::InvalidSignature => "invalid_signature",
                ResetError::SignatureExpired => "signature_expired",
                ResetError::NotConfigured(_) => "not_configured",
                ResetError::Token(r) => match r {
                    crate::error::TokenRefusal::InvalidClient { .. } => "invalid_client",
                    crate::error::TokenRefusal::UnauthorizedClient => "unauthorized_client",
                    crate::error::TokenRefusal::InvalidGrant => "invalid_grant",
                    crate::error::TokenRefusal::InvalidScope => "invalid_scope",
                    crate::error::TokenRefusal::UnsupportedGrantType => "unsupported_grant_type",
                    crate::error::TokenRefusal::PasswordGrantUnavailable => {
                        "password_grant_unavailable"
                    }
                },
                ResetError::RateLimited { .. } => "rate_limited",
                ResetError::Unavailable(_) => "unavailable",
                ResetError::Internal(_) => "internal",
            },
        }
    }

    /// Counts the rejection. Server-side failures are logged with their
    /// cause, the whole chain of sources on one line; client errors are not
    /// (their text could only echo what the client sent). Neither reaches
    /// the response: each dialect renders only the variant.
    pub(crate) fn log(&self, function: Function) {
        crate::metrics::count(crate::metrics::Metric::Rejections(self.reason()));
        let function = function.name();
        match self {
            Failure::Reset(ResetError::Unavailable(cause)) => {
                let cause = Chain(cause.as_ref());
                tracing::warn!(function, %cause, "dependency unavailable")
            }
            Failure::Reset(ResetError::Internal(cause)) => {
                let cause = Chain(cause.as_ref());
                tracing::error!(function, %cause, "internal error")
            }
            _ => {}
        }
    }
}
