//! Unleash's password reset and its companions that check a token and a
//! password: the link token is the credential; errors are
//! `{id, name, message, details}`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::Failure;
use crate::App;
use crate::http::{self, RequestError};
use crate::password::Profile;
use crate::reset::ResetError;
use crate::routes::Function;

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
    /// validate-password only: the password profile that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'static str>,
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
            profile: None,
        },
    )
}

/// A refused password: one detail per failed rule, each with its name;
/// validate-password also names the profile.
fn policy_error(
    failed: Vec<crate::password::PolicyViolation>,
    profile: Option<Profile>,
) -> Response<Body> {
    let message = "The password does not meet the password policy";
    http::json_response(
        400,
        &UnleashError {
            id: uuid::Uuid::new_v4().to_string(),
            name: "PasswordPolicyError",
            message: message.to_string(),
            details: failed
                .into_iter()
                .map(|v| ErrorDetail {
                    message: format!("The password {}.", v.message),
                    rule: Some(v.rule.name()),
                })
                .collect(),
            profile: profile.map(Profile::name),
        },
    )
}

/// Unleash's dialect, the one place its errors are rendered. validate-password
/// renders with the profile it applied, which its 400 names.
#[derive(Default)]
struct Unleash {
    profile: Option<Profile>,
}

impl super::Dialect for Unleash {
    fn render(&self, failure: Failure) -> Response<Body> {
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
                ResetError::InvalidToken
                | ResetError::Unauthenticated
                | ResetError::Forbidden(_) => {
                    error(401, "InvalidTokenError", "Invalid token", vec![])
                }
                ResetError::UsedToken => {
                    error(403, "UsedTokenError", "Token has already been used", vec![])
                }
                ResetError::WeakPassword(failed) => policy_error(failed, self.profile),
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
    let function = Function::ValidateToken;
    super::answer(function, Unleash::default(), async {
        super::public_caller(app, function, &req).await?;
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
    })
    .await
}

#[derive(Deserialize)]
struct ChangePassword {
    token: String,
    password: String,
}

/// `POST /auth/reset/password {token, password}`.
pub async fn reset_password(app: &App, req: Request) -> Response<Body> {
    let function = Function::ResetPassword;
    super::answer(function, Unleash::default(), async {
        let (client, body): (_, ChangePassword) = super::public_json(app, function, &req).await?;
        app.reset
            .reset_with_token(&body.token, &body.password, &client)
            .await?;
        Ok(http::json_response(200, &Empty {}))
    })
    .await
}

#[derive(Deserialize)]
struct ValidatePassword {
    password: String,
}

#[derive(Serialize)]
struct ProfileApplied {
    profile: &'static str,
}

/// `POST /auth/reset/validate-password {password}`: the default profile's
/// rules, rule by rule; both answers name the profile (`profile`).
pub async fn validate_password(app: &App, req: Request) -> Response<Body> {
    let function = Function::ValidatePassword;
    let profile = Profile::Nist;
    let dialect = Unleash {
        profile: Some(profile),
    };
    super::answer(function, dialect, async {
        let (_, body): (_, ValidatePassword) = super::public_json(app, function, &req).await?;
        app.reset
            .check_password(&body.password, None, profile)
            .await?;
        Ok(http::json_response(
            200,
            &ProfileApplied {
                profile: profile.name(),
            },
        ))
    })
    .await
}
