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

/// The header the optional CloudFront edge adds to every request it
/// forwards, carrying `REKEY_EDGE_SECRET` (template.yaml).
pub const EDGE_SECRET_HEADER: &str = "x-rekey-edge-secret";
/// The viewer's address and port, as CloudFront adds it.
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";

/// The secret shared with the CloudFront edge: a request that carries it
/// came through the edge, so its `CloudFront-Viewer-Address` is the
/// caller's (API Gateway's `sourceIp` is then a CloudFront node's).
#[derive(Clone)]
pub struct EdgeSecret(String);

impl EdgeSecret {
    /// Shorter values could be guessed; the template generates 48 characters.
    pub const MIN_LEN: usize = 32;

    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        (raw.len() >= Self::MIN_LEN && raw.is_ascii()).then(|| Self(raw.to_string()))
    }

    fn matches(&self, presented: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_bytes().ct_eq(presented))
    }
}

impl std::fmt::Debug for EdgeSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EdgeSecret(<redacted>)")
    }
}

/// The viewer's address from `CloudFront-Viewer-Address` ("ip:port"), only
/// when the request carries the edge's secret; None otherwise, and when no
/// edge is configured, so a caller cannot choose the address it is counted
/// under by sending the header to the API directly.
pub fn viewer_address(headers: &http::HeaderMap, edge: Option<&EdgeSecret>) -> Option<String> {
    let presented = headers.get(EDGE_SECRET_HEADER)?;
    if !edge?.matches(presented.as_bytes()) {
        return None;
    }
    let raw = headers.get(VIEWER_ADDRESS_HEADER)?.to_str().ok()?;
    let (address, port) = raw.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let address = address.trim_start_matches('[').trim_end_matches(']');
    address
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

/// The caller as API Gateway saw it (or the local server, which fills in
/// the same request context); behind the edge, the viewer's address
/// instead of the CloudFront node's (`viewer_address`).
pub fn client_info(req: &Request, edge: Option<&EdgeSecret>) -> ClientInfo {
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
    if let Some(viewer) = viewer_address(req.headers(), edge) {
        info.source_ip = Some(viewer);
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

/// A response with `status` and `body`, no headers yet.
pub fn response(status: u16, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

/// A JSON response. `no-store`: reset answers are never cached.
pub fn json_response(status: u16, body: &impl Serialize) -> Response<Body> {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        // Response types are plain structs; were one ever to fail, the
        // caller gets a 500 rather than a panic.
        Err(e) => {
            tracing::error!(error = %e, "a response did not serialise");
            (500, r#"{"error":"server_error"}"#.to_string())
        }
    };
    let mut resp = response(status, Body::Text(text));
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

/// A response handed to the Lambda runtime as it is. lambda_http re-reads
/// a `Response<Body>` through its body conversion, which decodes text by
/// the content type's charset and so links encoding_rs's tables (150 KiB);
/// rekey's bodies are already UTF-8 text, so a function on a size budget
/// (discovery) answers with this instead.
pub struct AsIs(pub Response<Body>);

impl lambda_http::IntoResponse for AsIs {
    fn into_response(
        self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_is_hands_the_response_over_unchanged() {
        use lambda_http::IntoResponse;
        let resp = json_response(201, &serde_json::json!({"a": 1}));
        let out = block_on(AsIs(resp).into_response());
        assert_eq!(out.status(), 201);
        assert_eq!(out.headers()["cache-control"], "no-store");
        assert!(matches!(out.body(), Body::Text(t) if t == r#"{"a":1}"#));
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

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

    const EDGE: &str = "edge-secret-0123456789-abcdefghijklmnop";

    fn through(secret: Option<&str>, viewer: Option<&str>) -> Request {
        let mut b = http::Request::builder().uri("/x");
        if let Some(secret) = secret {
            b = b.header(EDGE_SECRET_HEADER, secret);
        }
        if let Some(viewer) = viewer {
            b = b.header("CloudFront-Viewer-Address", viewer);
        }
        b.body(Body::Empty).unwrap()
    }

    fn viewer(req: &Request, edge: Option<&str>) -> Option<String> {
        let edge = edge.map(|e| EdgeSecret::parse(e).unwrap());
        viewer_address(req.headers(), edge.as_ref())
    }

    #[test]
    fn the_viewer_address_is_trusted_only_with_the_edge_secret() {
        let from_edge = through(Some(EDGE), Some("198.51.100.10:46532"));
        assert_eq!(
            viewer(&from_edge, Some(EDGE)).as_deref(),
            Some("198.51.100.10")
        );
        // No edge configured: the header is anyone's to send.
        assert_eq!(viewer(&from_edge, None), None);
        // Straight to the execute-api URL, with or without a guess.
        let direct = through(None, Some("198.51.100.10:46532"));
        assert_eq!(viewer(&direct, Some(EDGE)), None);
        let guessed = through(
            Some("edge-secret-0123456789-abcdefghijklmnoq"),
            Some("198.51.100.10:1"),
        );
        assert_eq!(viewer(&guessed, Some(EDGE)), None);
        let prefix = through(Some(&EDGE[..EDGE.len() - 1]), Some("198.51.100.10:1"));
        assert_eq!(viewer(&prefix, Some(EDGE)), None);
    }

    #[test]
    fn the_viewer_address_is_parsed_without_its_port() {
        let at = |v: &str| viewer(&through(Some(EDGE), Some(v)), Some(EDGE));
        assert_eq!(at("2001:db8::1:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(at("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        for odd in [
            "198.51.100.10",
            "198.51.100.10:",
            "nonsense:80",
            "198.51.100.10:99999",
            "",
        ] {
            assert_eq!(at(odd), None, "{odd:?}");
        }
        assert_eq!(viewer(&through(Some(EDGE), None), Some(EDGE)), None);
    }

    #[test]
    fn client_info_takes_the_viewer_address_only_from_the_edge() {
        let edge = EdgeSecret::parse(EDGE).unwrap();
        let event = |headers: serde_json::Value| {
            let event = serde_json::json!({
                "version": "2.0",
                "routeKey": "POST /x",
                "rawPath": "/x",
                "rawQueryString": "",
                "headers": headers,
                "requestContext": {
                    "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                    "http": {"method": "POST", "path": "/x", "protocol": "HTTP/1.1",
                             "sourceIp": "130.176.0.1", "userAgent": "t"},
                    "requestId": "r", "routeKey": "POST /x", "stage": "$default",
                    "time": "22/Nov/2026:19:00:00 +0000", "timeEpoch": 0
                },
                "isBase64Encoded": false
            });
            lambda_http::request::from_str(&event.to_string()).unwrap()
        };
        let behind = event(serde_json::json!({
            EDGE_SECRET_HEADER: EDGE,
            "cloudfront-viewer-address": "203.0.113.5:5000"
        }));
        assert_eq!(
            client_info(&behind, Some(&edge)).source_ip.as_deref(),
            Some("203.0.113.5")
        );
        let spoofed = event(serde_json::json!({"cloudfront-viewer-address": "203.0.113.5:5000"}));
        assert_eq!(
            client_info(&spoofed, Some(&edge)).source_ip.as_deref(),
            Some("130.176.0.1")
        );
        assert_eq!(
            client_info(&behind, None).source_ip.as_deref(),
            Some("130.176.0.1")
        );
    }

    #[test]
    fn edge_secrets_are_long_and_never_printed() {
        assert!(EdgeSecret::parse("short").is_none());
        let secret = EdgeSecret::parse(EDGE).unwrap();
        assert!(!format!("{secret:?}").contains("0123456789"));
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
            let agent = client_info(&req, None).user_agent.unwrap();
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
