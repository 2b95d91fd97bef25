//! What every HTTP contract shares: body limits, JSON parsing that never
//! echoes input, the caller's address, JSON responses.

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::ClientInfo;

/// Every contract's body limit: larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Characters of a user agent (and an `Accept-Language`) kept: they reach
/// the audit trail and the notice mail, and the caller chooses them.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Why a request could not be read; each contract renders it in its dialect.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    #[error("request body is not valid JSON{0}")]
    MalformedJson(String),
    /// A field is missing or has the wrong type; names the field, never its value.
    #[error("{message}")]
    InvalidField { field: String, message: String },
}

impl RequestError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(s) => s.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads a POST body as JSON: 415 for another media type, 413 over the
/// limit, 400 for anything that is not JSON, as every contract answers.
/// Error messages name positions, never the values sent.
pub fn json_value(req: &Request) -> Result<serde_json::Value, RequestError> {
    if !is_json(req) {
        return Err(RequestError::UnsupportedMediaType);
    }
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(RequestError::PayloadTooLarge);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        RequestError::MalformedJson(format!(" (line {}, column {})", e.line(), e.column()))
    })
}

/// The path of the first array in `value`, if any.
fn first_array(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::Array(_) => Some(if path.is_empty() {
            "body".into()
        } else {
            path.into()
        }),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            first_array(
                v,
                &if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                },
            )
        }),
        _ => None,
    }
}

/// Parses a POST body of type `T`. No contract's request holds a JSON
/// array anywhere, and serde's derived structs would accept an array in
/// place of an object (field by field), so arrays are refused outright.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, RequestError> {
    let value = json_value(req)?;
    if let Some(path) = first_array(&value, "") {
        return Err(RequestError::invalid(
            &path,
            format!("{path} has the wrong type"),
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        describe_data_error(&path, &e.into_inner().to_string())
    })
}

fn describe_data_error(path: &str, message: &str) -> RequestError {
    // serde's "missing field `x`" names the field; other data errors may
    // quote the value sent, so only their kind is kept.
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let field = if path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        return RequestError::invalid(&field, format!("{field} is required"));
    }
    let field = if path == "." {
        "body".to_string()
    } else {
        path.to_string()
    };
    let kind = if message.starts_with("invalid type") {
        "has the wrong type"
    } else if message.starts_with("unknown field") {
        "is not a known field"
    } else {
        "is not valid"
    };
    RequestError::invalid(&field, format!("{field} {kind}"))
}

/// A required query-string parameter.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_string)
}

/// The caller as API Gateway saw it (or the local server, which fills in
/// the same request context).
pub fn client_info(req: &Request) -> ClientInfo {
    let capped = |s: &str| s.chars().take(MAX_USER_AGENT_CHARS).collect::<String>();
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(capped)
    };
    let mut info = ClientInfo::default();
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        info.source_ip = ctx.http.source_ip.clone();
        info.user_agent = ctx.http.user_agent.as_deref().map(capped);
        info.host = ctx.domain_name.clone();
    }
    if info.user_agent.is_none() {
        info.user_agent = header(http::header::USER_AGENT);
    }
    if info.host.is_none() {
        info.host = header(http::header::HOST);
    }
    info.origin = header(http::header::ORIGIN);
    info.accept_language = header(http::header::ACCEPT_LANGUAGE);
    info
}

/// A JSON response. `no-store`: reset answers are never cached.
pub fn json_response(status: u16, body: &impl Serialize) -> Response<Body> {
    let bytes = serde_json::to_string(body).expect("response types serialise");
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(bytes))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Shape {
        token: String,
        n: Option<u32>,
    }

    fn post(ct: Option<&str>, body: &str) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(Body::Text(body.to_string())).unwrap()
    }

    #[test]
    fn content_type_size_syntax_and_shape() {
        assert_eq!(
            json_body::<Shape>(&post(None, "{}")).unwrap_err(),
            RequestError::UnsupportedMediaType
        );
        assert_eq!(
            json_body::<Shape>(&post(Some("text/plain"), "{}")).unwrap_err(),
            RequestError::UnsupportedMediaType
        );
        let big = format!("{{\"token\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            json_body::<Shape>(&post(Some("application/json"), &big)).unwrap_err(),
            RequestError::PayloadTooLarge
        );
        assert!(matches!(
            json_body::<Shape>(&post(Some("application/json"), "{\"token\":")).unwrap_err(),
            RequestError::MalformedJson(_)
        ));
        assert_eq!(
            json_body::<Shape>(&post(Some("application/json; charset=utf-8"), "{}")).unwrap_err(),
            RequestError::invalid("token", "token is required")
        );
        let e = json_body::<Shape>(&post(
            Some("application/json"),
            "{\"token\":\"s3cret\",\"n\":\"s3cret\"}",
        ))
        .unwrap_err();
        assert_eq!(e, RequestError::invalid("n", "n has the wrong type"));
        assert!(!format!("{e:?}").contains("s3cret"));
        assert!(
            json_body::<Shape>(&post(Some("Application/JSON"), "{\"token\":\"t\"} x")).is_err()
        );
        assert!(json_body::<Shape>(&post(Some("application/json"), "{\"token\":\"t\"}")).is_ok());
    }

    #[test]
    fn user_agents_are_capped_from_the_context_and_the_header() {
        use lambda_http::RequestExt;
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        let long = "x".repeat(10_000);
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.http.user_agent = Some(long.clone());
        let from_context = post(None, "").with_request_context(RequestContext::ApiGatewayV2(ctx));
        let mut from_header = post(None, "");
        from_header
            .headers_mut()
            .insert(http::header::USER_AGENT, long.parse().unwrap());
        for req in [from_context, from_header] {
            let agent = client_info(&req).user_agent.unwrap();
            assert_eq!(agent.chars().count(), MAX_USER_AGENT_CHARS);
        }
    }

    #[test]
    fn deep_nesting_is_a_client_error() {
        let deep = format!(
            "{{\"token\":\"t\",\"n\":{}{}}}",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert!(json_body::<Shape>(&post(Some("application/json"), &deep)).is_err());
    }
}
