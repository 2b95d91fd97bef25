//! Account recovery ending in a log-in (the account-reset contract and its
//! companion "Recover an account"): errors are OAuth 2.0's (RFC 6749 section 5.2),
//! `{"error": "...", "error_description": "..."}`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::Failure;
use crate::App;
use crate::domain::EmailAddress;
use crate::http::{self, RequestError};
use crate::reset::{AddressRequest, ResetError};
use crate::routes::Function;

#[derive(Serialize)]
struct OAuthError<'a> {
    error: &'a str,
    error_description: String,
}

fn oauth_error(status: u16, error: &str, description: impl Into<String>) -> Response<Body> {
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
struct OAuth;

impl super::Dialect for OAuth {
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

#[derive(Deserialize)]
struct RecoverRequest {
    email: String,
}

#[derive(Serialize)]
struct Empty {}

/// `POST /api/v2/account/recover/ {email}`: mails a link whose token is the
/// `validation_code`. Always 200 `{}` for a well-formed request.
pub async fn recover(app: &App, req: Request) -> Response<Body> {
    let function = Function::RecoverAccount;
    super::answer(function, OAuth, async {
        let (client, body): (_, RecoverRequest) = super::public_json(app, function, &req).await?;
        let email = EmailAddress::parse(&body.email)
            .ok_or_else(|| RequestError::invalid("email", "email is not a valid email address"))?;
        app.reset
            .accept_address_request(AddressRequest::Recovery, &email, &client, None)
            .await?;
        Ok(http::json_response(200, &Empty {}))
    })
    .await
}

#[derive(Deserialize)]
struct ResetRequest {
    validation_code: String,
    password: String,
}

#[derive(Serialize)]
struct TokenResponse {
    token: Token,
}

#[derive(Serialize)]
struct Token {
    access_token: String,
    expires_in: u64,
    token_type: &'static str,
    refresh_token: String,
    client_id: String,
    scope: String,
}

/// `POST /api/v2/account/reset/ {validation_code, password}`: resets and
/// logs the user in.
pub async fn reset(app: &App, req: Request) -> Response<Body> {
    let function = Function::ResetAccount;
    super::answer(function, OAuth, async {
        let (client, body): (_, ResetRequest) = super::public_json(app, function, &req).await?;
        let session = app
            .reset
            .reset_and_log_in(
                &body.validation_code,
                &body.password,
                &client,
                &crate::signing::issuer_for(app.reset.session().issuer.as_deref(), &req),
            )
            .await?;
        let mut resp = http::json_response(
            200,
            &TokenResponse {
                token: Token {
                    access_token: session.access_token,
                    expires_in: session.expires_in,
                    token_type: "Bearer",
                    refresh_token: session.refresh_token.expose().to_string(),
                    client_id: session.client_id,
                    scope: session.scope,
                },
            },
        );
        resp.headers_mut().insert(
            ::http::header::PRAGMA,
            ::http::HeaderValue::from_static("no-cache"),
        );
        Ok(resp)
    })
    .await
}
