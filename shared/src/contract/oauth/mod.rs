//! The OAuth 2.0 token endpoint (RFC 6749: the password and refresh-token
//! grants) and token revocation (RFC 7009): form bodies in, JSON out,
//! errors in the [`OAuth`] dialect; nothing here or in its errors is cached.
//! And OpenID Connect userinfo (`userinfo.rs`), an access token's account.

use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::App;
use crate::error::TokenRefusal;
use crate::http;
use crate::routes::Function;
use crate::sign_in::Session;

mod dialect;
pub(crate) mod form;
mod userinfo;

pub(crate) use dialect::OAuth;
use form::Form;
pub use userinfo::oauth_userinfo;

/// RFC 6749 5.1.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    scope: String,
}

/// Answers with `Cache-Control: no-store` and `Pragma: no-cache`.
fn no_store(status: u16, body: &impl Serialize) -> Response<Body> {
    let mut resp = http::json_response(status, body);
    resp.headers_mut().insert(
        ::http::header::PRAGMA,
        ::http::HeaderValue::from_static("no-cache"),
    );
    resp
}

/// `POST /oauth/token`: `grant_type=password` (first-party clients) or
/// `grant_type=refresh_token` (rotates the token).
pub async fn oauth_token(app: &App, req: Request) -> Response<Body> {
    let function = Function::OAuthToken;
    super::answer(function, OAuth, async {
        let caller = super::public_caller(app, function, &req).await?;
        let form = Form::read(&req)?;
        let grant_type = form.required("grant_type")?;
        let client = app.sign_in.authenticate_client(&form.client(&req)?)?;
        let issuer = crate::access_token::issuer_for(app.session().issuer.as_deref(), &req);
        let scope = form.get("scope");
        let session: Session = match grant_type {
            "password" => {
                let username = form.required("username")?;
                let password = form.required("password")?;
                app.sign_in
                    .sign_in_with_password(client, username, password, scope, &caller, &issuer)
                    .await?
            }
            "refresh_token" => {
                let refresh = form.required("refresh_token")?;
                app.sign_in
                    .refresh_session(client, refresh, scope, &issuer)
                    .await?
            }
            _ => return Err(crate::ResetError::from(TokenRefusal::UnsupportedGrantType).into()),
        };
        Ok(no_store(
            200,
            &TokenResponse {
                access_token: session.access_token,
                token_type: "Bearer",
                expires_in: session.expires_in,
                refresh_token: session.refresh_token.expose().to_string(),
                scope: session.scope,
            },
        ))
    })
    .await
}

/// `POST /oauth/revoke`: 200 with an empty body for every well-formed
/// request from an authenticated client; a refresh token of that client
/// revokes its whole family.
pub async fn oauth_revoke(app: &App, req: Request) -> Response<Body> {
    let function = Function::OAuthRevoke;
    super::answer(function, OAuth, async {
        super::public_caller(app, function, &req).await?;
        let form = Form::read(&req)?;
        let token = form.required("token")?;
        // `token_type_hint` only says where to look first (RFC 7009 2.1);
        // there is one place to look, and an unknown hint is no error.
        let client = app.sign_in.authenticate_client(&form.client(&req)?)?;
        app.sign_in.revoke_token(client, token).await?;
        let mut resp = http::response(200, Body::Empty);
        let headers = resp.headers_mut();
        headers.insert(
            ::http::header::CACHE_CONTROL,
            ::http::HeaderValue::from_static("no-store"),
        );
        headers.insert(
            ::http::header::PRAGMA,
            ::http::HeaderValue::from_static("no-cache"),
        );
        Ok(resp)
    })
    .await
}
