//! Account recovery ending in a log-in (the account-reset contract and its
//! companion "Recover an account"): errors are OAuth 2.0's (RFC 6749 section 5.2),
//! `{"error": "...", "error_description": "..."}`.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::oauth::OAuth;
use crate::App;
use crate::domain::EmailAddress;
use crate::http::{self, RequestError};
use crate::reset::AddressRequest;
use crate::routes::Function;

#[derive(Deserialize)]
struct RecoverRequest {
    email: String,
}

#[derive(Serialize)]
struct Empty {}

/// `POST /api/v2/account/recover/ {email}`: mails a link whose token is the
/// `validation_code`. Always 200 `{}` for a well-formed request.
pub async fn recover_account(app: &App, req: Request) -> Response<Body> {
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
pub async fn reset_account(app: &App, req: Request) -> Response<Body> {
    let function = Function::ResetAccount;
    super::answer(function, OAuth, async {
        let (client, body): (_, ResetRequest) = super::public_json(app, function, &req).await?;
        let session = app
            .reset
            .reset_and_log_in(
                &body.validation_code,
                &body.password,
                &client,
                &crate::access_token::issuer_for(app.session().issuer.as_deref(), &req),
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
