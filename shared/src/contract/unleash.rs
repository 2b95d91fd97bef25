//! Unleash's reset endpoints (seed 002 and companions): the link token is
//! the credential; errors are `{id, name, message, details}`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::Failure;
use crate::App;
use crate::http::{self, RequestError};
use crate::reset::ResetError;

#[derive(Serialize)]
struct ErrorDetail {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
}

#[derive(Serialize)]
struct UnleashError {
    id: String,
    name: &'static str,
    message: String,
    details: Vec<ErrorDetail>,
}

fn error(
    status: u16,
    name: &'static str,
    message: &str,
    details: Vec<ErrorDetail>,
) -> Response<Body> {
    let details = if details.is_empty() {
        vec![ErrorDetail {
            message: message.to_string(),
            rule: None,
        }]
    } else {
        details
    };
    http::json_response(
        status,
        &UnleashError {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            message: message.to_string(),
            details,
        },
    )
}

/// Unleash's dialect, the one place its errors are rendered.
fn render_failure(function: &str, failure: Failure) -> Response<Body> {
    let retry_after = failure.retry_after();
    super::with_retry_after(render_dialect(function, failure), retry_after)
}

fn render_dialect(function: &str, failure: Failure) -> Response<Body> {
    failure.log(function);
    match failure {
        Failure::Request(e) => match &e {
            RequestError::UnsupportedMediaType => {
                error(415, "ContentTypeError", &e.to_string(), vec![])
            }
            RequestError::PayloadTooLarge => {
                error(413, "ContentTooLargeError", &e.to_string(), vec![])
            }
            RequestError::MalformedJson(_) | RequestError::InvalidField { .. } => {
                error(400, "BadDataError", &e.to_string(), vec![])
            }
        },
        Failure::Reset(e) => match e {
            ResetError::InvalidToken | ResetError::Unauthenticated | ResetError::Forbidden(_) => {
                error(401, "InvalidTokenError", "Invalid token", vec![])
            }
            ResetError::UsedToken => {
                error(403, "UsedTokenError", "Token has already been used", vec![])
            }
            ResetError::WeakPassword(failed) => error(
                400,
                "PasswordPolicyError",
                "The password does not meet the password policy",
                failed
                    .into_iter()
                    .map(|v| ErrorDetail {
                        message: format!("The password {}.", v.message),
                        rule: Some(v.rule.name()),
                    })
                    .collect(),
            ),
            ResetError::Unavailable(_) => error(
                503,
                "ServiceUnavailableError",
                "The service is temporarily unavailable, try again shortly",
                vec![],
            ),
            ResetError::Internal(_) => error(500, "InternalError", "Unexpected error", vec![]),
            ResetError::RateLimited { retry_after } => error(
                429,
                "TooManyRequestsError",
                &format!("Too many requests. Try again in {retry_after} seconds."),
                vec![],
            ),
            // Not produced by Unleash's endpoints; Unleash's generic 400.
            other => error(400, "BadDataError", &other.to_string(), vec![]),
        },
    }
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct TokenUser {
    id: String,
    email: String,
    name: String,
}

/// `GET /auth/reset/validate?token=`: who the token belongs to. Never
/// consumes the token.
pub async fn validate_token(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, Failure> = async {
        app.reset
            .limit_source("validate-token", &http::client_info(&req))
            .await?;
        let token = http::query_param(&req, "token")
            .ok_or_else(|| RequestError::invalid("token", "token is required"))?;
        let (_, user) = app.reset.inspect_token(&token).await?;
        Ok(http::json_response(
            200,
            &TokenUser {
                id: user.id.to_string(),
                name: user.display_name(),
                email: user.email.as_str().to_string(),
            },
        ))
    }
    .await;
    result.unwrap_or_else(|f| render_failure("validate-token", f))
}

#[derive(Deserialize)]
struct ChangePassword {
    token: String,
    password: String,
}

/// `POST /auth/reset/password {token, password}`.
pub async fn reset_password(app: &App, req: Request) -> Response<Body> {
    let client = http::client_info(&req);
    let result: Result<_, Failure> = async {
        app.reset.limit_source("reset-password", &client).await?;
        let body: ChangePassword = http::json_body(&req)?;
        app.reset
            .reset_with_token(&body.token, &body.password, &client)
            .await?;
        Ok(http::json_response(200, &Empty {}))
    }
    .await;
    result.unwrap_or_else(|f| render_failure("reset-password", f))
}

#[derive(Deserialize)]
struct ValidatePassword {
    password: String,
}

/// `POST /auth/reset/validate-password {password}`: the policy, rule by rule.
pub async fn validate_password(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, Failure> = async {
        app.reset
            .limit_source("validate-password", &http::client_info(&req))
            .await?;
        let body: ValidatePassword = http::json_body(&req)?;
        app.reset.check_password(&body.password, None).await?;
        Ok(http::json_response(200, &Empty {}))
    }
    .await;
    result.unwrap_or_else(|f| render_failure("validate-password", f))
}
