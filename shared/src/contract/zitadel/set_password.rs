//! `SetPassword`: a new password, proved by a verification code, the
//! current password, or (for `users:admin` keys) nothing.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::protocol::Protocol;
use super::{Details, bearer, parse_body, raw_user_id, user_id};
use crate::App;
use crate::contract::{Failure, answer};
use crate::domain::Scope;
use crate::http::{self, RequestError};
use crate::reset::PasswordProof;
use crate::routes::Function;

/// `SetPasswordRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetPasswordBody {
    #[serde(default, alias = "user_id")]
    user_id: Option<String>,
    #[serde(alias = "new_password")]
    new_password: NewPasswordBody,
    #[serde(default, alias = "verification_code")]
    verification_code: Option<String>,
    #[serde(default, alias = "current_password")]
    current_password: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewPasswordBody {
    password: String,
    /// Accepted for compatibility; rekey has no sign-in flow to enforce it.
    #[serde(default, alias = "change_required")]
    #[allow(dead_code)]
    change_required: Option<bool>,
}

/// The verification oneof: at most one of them, and not empty.
fn proof(
    verification_code: Option<String>,
    current_password: Option<String>,
) -> Result<PasswordProof, RequestError> {
    match (verification_code, current_password) {
        (Some(_), Some(_)) => Err(RequestError::invalid(
            "verificationCode",
            "verificationCode and currentPassword are mutually exclusive: send one of them or neither",
        )),
        (Some(code), None) if code.trim().is_empty() => Err(RequestError::invalid(
            "verificationCode",
            "verificationCode must not be empty",
        )),
        (Some(code), None) => Ok(PasswordProof::Code(code)),
        (None, Some(current)) if current.is_empty() => Err(RequestError::invalid(
            "currentPassword",
            "currentPassword must not be empty",
        )),
        (None, Some(current)) => Ok(PasswordProof::CurrentPassword(current)),
        (None, None) => Ok(PasswordProof::None),
    }
}

#[derive(Serialize)]
struct SetPasswordResponse {
    details: Details,
}

/// `POST /v2/users/{userId}/password` and
/// `POST /zitadel.user.v2.UserService/SetPassword`.
pub async fn set_password(app: &App, req: Request) -> Response<Body> {
    let protocol = Protocol::of(&req, "SetPassword");
    answer(
        Function::SetPassword,
        protocol,
        handle_set_password(app, &req, protocol),
    )
    .await
}

async fn handle_set_password(
    app: &App,
    req: &Request,
    protocol: Protocol,
) -> Result<Response<Body>, Failure> {
    let key = app.keys.authorize(bearer(req), Scope::UsersWrite).await?;
    let body: SetPasswordBody = parse_body(req)?;
    let raw_id = raw_user_id(req, protocol, body.user_id.as_deref())?;
    let proof = proof(body.verification_code, body.current_password)?;
    let user_id = user_id(raw_id)?;
    let details = app
        .reset
        .set_password_with_proof(
            &user_id,
            &body.new_password.password,
            proof,
            &key,
            &http::client_info(req, app.edge_secret()),
        )
        .await?;
    Ok(http::json_response(
        200,
        &SetPasswordResponse {
            details: Details::from_change(details)?,
        },
    ))
}
