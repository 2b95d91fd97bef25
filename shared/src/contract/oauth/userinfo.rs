//! `GET /oauth/userinfo` and `POST /oauth/userinfo` (OpenID Connect Core
//! 5.3): the account an access token speaks for. The token comes as
//! `Authorization: Bearer` (RFC 6750 2.1) or, for POST, as the form field
//! `access_token` (2.2); never from the query string, where it would reach
//! access logs. Errors are RFC 6750 section 3's: a `WWW-Authenticate:
//! Bearer` challenge, `error="invalid_token"` for any token refused.

use lambda_http::{Body, Request, Response};

use crate::App;
use crate::contract::Failure;
use crate::http::{self, RequestError};
use crate::reset::ResetError;
use crate::routes::Function;

fn bearer_error(status: u16, challenge: &'static str, error: Option<&str>) -> Response<Body> {
    let body = match error {
        Some(error) => serde_json::json!({ "error": error }),
        None => serde_json::json!({}),
    };
    let mut resp = http::json_response(status, &body);
    let headers = resp.headers_mut();
    if !challenge.is_empty() {
        headers.insert(
            ::http::header::WWW_AUTHENTICATE,
            ::http::HeaderValue::from_static(challenge),
        );
    }
    headers.insert(
        ::http::header::CACHE_CONTROL,
        ::http::HeaderValue::from_static("no-store"),
    );
    resp
}

/// RFC 6750's dialect, the one place userinfo's errors are rendered. The
/// body says no more than the challenge: why a token failed is logged for
/// the operator, never told to the caller.
struct BearerDialect;

impl crate::contract::Dialect for BearerDialect {
    fn render(&self, failure: Failure) -> Response<Body> {
        match failure {
            Failure::Request(_) => bearer_error(
                400,
                r#"Bearer error="invalid_request""#,
                Some("invalid_request"),
            ),
            Failure::Reset(e) => match e {
                // No credentials at all: a bare challenge (RFC 6750 3.1).
                ResetError::Unauthenticated => bearer_error(401, "Bearer", None),
                ResetError::InvalidToken => bearer_error(
                    401,
                    r#"Bearer error="invalid_token""#,
                    Some("invalid_token"),
                ),
                ResetError::Unavailable(_) => {
                    bearer_error(503, "", Some("temporarily_unavailable"))
                }
                ResetError::RateLimited { .. } => {
                    bearer_error(429, "", Some("temporarily_unavailable"))
                }
                _ => bearer_error(500, "", Some("server_error")),
            },
        }
    }
}

/// The token of `Authorization: Bearer <token>`; None without one (or
/// with another scheme).
fn header_token(req: &Request) -> Result<Option<String>, Failure> {
    let Some(value) = req.headers().get(::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| RequestError::invalid("Authorization", "Authorization is not valid"))?;
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Ok(None);
    }
    let token = token.trim();
    Ok((!token.is_empty()).then(|| token.to_string()))
}

/// The form body's `access_token` (RFC 6750 2.2): only in a POST whose
/// body is a form.
fn form_token(req: &Request) -> Result<Option<String>, Failure> {
    if req.method() != ::http::Method::POST || !super::form::is_form(req) {
        return Ok(None);
    }
    let bytes = http::body_bytes(req);
    if bytes.len() > http::MAX_BODY_BYTES {
        return Err(RequestError::PayloadTooLarge.into());
    }
    let mut tokens = url::form_urlencoded::parse(bytes).filter(|(k, _)| k == "access_token");
    let token = tokens.next().map(|(_, v)| v.into_owned());
    if tokens.next().is_some() {
        return Err(RequestError::invalid("access_token", "access_token is given twice").into());
    }
    Ok(token.filter(|t| !t.is_empty()))
}

/// The access token, from exactly one place (RFC 6750 section 2: a client
/// must not use more than one method).
fn access_token(req: &Request) -> Result<String, Failure> {
    match (header_token(req)?, form_token(req)?) {
        (Some(_), Some(_)) => Err(RequestError::invalid(
            "access_token",
            "the access token is given in more than one way",
        )
        .into()),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(ResetError::Unauthenticated.into()),
    }
}

/// `GET|POST /oauth/userinfo`: `{sub, email, name}` of the token's account.
pub async fn oauth_userinfo(app: &App, req: Request) -> Response<Body> {
    crate::contract::answer(Function::OAuthUserinfo, BearerDialect, async {
        let token = access_token(&req)?;
        let issuer = crate::access_token::issuer_for(app.session().issuer.as_deref(), &req);
        let info = app.resource.userinfo(&token, &issuer).await?;
        let mut resp = http::json_response(200, &info);
        resp.headers_mut().insert(
            ::http::header::CACHE_CONTROL,
            ::http::HeaderValue::from_static("no-store"),
        );
        Ok(resp)
    })
    .await
}
