//! The OAuth 2.0 error dialect (RFC 6749 5.2): `{"error", "error_description"}`,
//! never cached. The account-recovery contract and the token and
//! revocation endpoints answer in it; this is the one place it is rendered.

use lambda_http::{Body, Response};
use serde::Serialize;

use super::super::Failure;
use crate::error::{ResetError, TokenRefusal};
use crate::http::{self, RequestError};

#[derive(Serialize)]
struct OAuthError<'a> {
    error: &'a str,
    error_description: String,
}

pub(super) fn oauth_error(
    status: u16,
    error: &str,
    description: impl Into<String>,
) -> Response<Body> {
    let mut resp = http::json_response(
        status,
        &OAuthError {
            error,
            error_description: description.into(),
        },
    );
    // RFC 6749 5.1: token responses are never cached.
    resp.headers_mut().insert(
        ::http::header::PRAGMA,
        ::http::HeaderValue::from_static("no-cache"),
    );
    resp
}

/// The OAuth dialect, the one place its errors are rendered.
pub(crate) struct OAuth;

impl super::super::Dialect for OAuth {
    fn render(&self, failure: Failure) -> Response<Body> {
        match failure {
            Failure::Request(e) => match &e {
                RequestError::UnsupportedMediaType => {
                    oauth_error(415, "invalid_request", e.to_string())
                }
                RequestError::PayloadTooLarge => oauth_error(413, "invalid_request", e.to_string()),
                RequestError::MalformedJson(_) | RequestError::InvalidField { .. } => {
                    oauth_error(400, "invalid_request", e.to_string())
                }
            },
            Failure::Reset(e) => match e {
                ResetError::InvalidToken | ResetError::UsedToken => oauth_error(
                    400,
                    "invalid_grant",
                    "the validation code is invalid, expired or already used",
                ),
                ResetError::WeakPassword(failed) => oauth_error(
                    400,
                    "invalid_request",
                    format!(
                        "the password does not meet the policy: {}",
                        failed
                            .iter()
                            .map(|v| format!("{} ({})", v.rule.name(), v.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                ),
                ResetError::Token(refusal) => token_refusal(refusal),
                ResetError::Unavailable(_) => oauth_error(
                    503,
                    "temporarily_unavailable",
                    "the service is temporarily unavailable, try again shortly",
                ),
                ResetError::Internal(_) => oauth_error(500, "server_error", "unexpected error"),
                // OAuth has no rate-limit error; "try later" is its nearest.
                ResetError::RateLimited { retry_after } => oauth_error(
                    429,
                    "temporarily_unavailable",
                    format!("too many requests; retry in {retry_after} s"),
                ),
                other => oauth_error(400, "invalid_request", other.to_string()),
            },
        }
    }
}

fn token_refusal(refusal: TokenRefusal) -> Response<Body> {
    let description = refusal.to_string();
    match refusal {
        TokenRefusal::InvalidClient { basic } => {
            let mut resp = oauth_error(401, "invalid_client", description);
            if basic {
                // RFC 6749 5.2: name the scheme the client tried.
                resp.headers_mut().insert(
                    ::http::header::WWW_AUTHENTICATE,
                    ::http::HeaderValue::from_static("Basic realm=\"rekey\""),
                );
            }
            resp
        }
        TokenRefusal::UnauthorizedClient => oauth_error(400, "unauthorized_client", description),
        TokenRefusal::InvalidGrant => oauth_error(400, "invalid_grant", description),
        TokenRefusal::InvalidScope => oauth_error(400, "invalid_scope", description),
        TokenRefusal::UnsupportedGrantType => {
            oauth_error(400, "unsupported_grant_type", description)
        }
        TokenRefusal::PasswordGrantUnavailable => oauth_error(400, "invalid_request", description),
    }
}
