//! Payabli's `POST /api/User/authreset`: a front end asks for a
//! reset link by email, authenticated by a `requestToken` API key.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::Failure;
use crate::App;
use crate::domain::{EmailAddress, Scope};
use crate::http::{self, RequestError};
use crate::reset::{AddressRequest, ResetError};
use crate::routes::Function;

pub const API_KEY_HEADER: &str = "requestToken";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthResetRequest {
    email: String,
    entry: Option<String>,
    entry_type: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PayabliResponse<'a> {
    is_success: bool,
    response_text: &'a str,
}

fn respond(status: u16, is_success: bool, response_text: &str) -> Response<Body> {
    http::json_response(
        status,
        &PayabliResponse {
            is_success,
            response_text,
        },
    )
}

/// Payabli's dialect, the one place its errors are rendered.
struct Payabli;

impl super::Dialect for Payabli {
    fn render(&self, failure: Failure) -> Response<Body> {
        match failure {
            Failure::Request(e) => match e {
                RequestError::UnsupportedMediaType => respond(415, false, &e.to_string()),
                RequestError::PayloadTooLarge => respond(413, false, &e.to_string()),
                RequestError::MalformedJson(_) | RequestError::InvalidField { .. } => {
                    respond(400, false, &e.to_string())
                }
            },
            Failure::Reset(e) => match e {
                ResetError::Unauthenticated => respond(401, false, "Unauthorized request."),
                // Payabli has no 403: a key without the scope is not authorised.
                ResetError::Forbidden(_) => respond(401, false, "Unauthorized request."),
                ResetError::Unavailable(_) => respond(503, false, "Database connection error"),
                ResetError::Internal(_) => respond(500, false, "Internal API Error"),
                ResetError::RateLimited { .. } => respond(429, false, "Too many requests"),
                // Not produced by request-reset; rendered as Payabli's generic 400.
                _ => respond(400, false, "Bad request/ invalid data"),
            },
        }
    }
}

/// `POST /api/User/authreset`: 200 for every well-formed request, whether or
/// not the address has an account.
pub async fn request_reset(app: &App, req: Request) -> Response<Body> {
    super::answer(
        Function::RequestReset,
        Payabli,
        handle_request_reset(app, &req),
    )
    .await
}

async fn handle_request_reset(app: &App, req: &Request) -> Result<Response<Body>, Failure> {
    let presented = req
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    let key = app.keys.authorize(presented, Scope::ResetRequest).await?;
    let body: AuthResetRequest = http::json_body(req)?;
    let email = EmailAddress::parse(&body.email)
        .ok_or_else(|| RequestError::invalid("email", "email is not a valid email address"))?;
    match (&body.entry, body.entry_type) {
        (_, Some(t)) if t != 0 && t != 2 => {
            return Err(RequestError::invalid(
                "entryType",
                "entryType must be 0 (partner) or 2 (paypoint)",
            )
            .into());
        }
        (Some(_), None) => {
            return Err(RequestError::invalid(
                "entryType",
                "entryType is required when entry is given",
            )
            .into());
        }
        _ => {}
    }
    let request = AddressRequest::ResetLink { entry: body.entry };
    let client = http::client_info(req, app.edge_secret());
    app.reset
        .accept_address_request(request, &email, &client, Some(&key.digest))
        .await?;
    Ok(respond(200, true, "Success"))
}
