//! The two wire forms of Zitadel's API, chosen per request: REST
//! (grpc-gateway) and Connect. Each renders a failure's gRPC status in its
//! own error body; this is Zitadel's one failure renderer.

use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::status::status_of;
use crate::contract::{Dialect, Failure};
use crate::http;

/// The Connect service both procedures belong to.
const SERVICE: &str = "zitadel.user.v2.UserService";

/// Which of Zitadel's two protocols a request speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    Rest,
    Connect,
}

impl Protocol {
    /// Connect when the path ends in the procedure's name.
    pub(super) fn of(req: &Request, method: &str) -> Self {
        let path = req.uri().path();
        let procedure = path
            .strip_suffix(method)
            .and_then(|p| p.strip_suffix('/'))
            .and_then(|p| p.strip_suffix(SERVICE))
            .is_some_and(|p| p.ends_with('/'));
        if procedure {
            Protocol::Connect
        } else {
            Protocol::Rest
        }
    }
}

#[derive(Serialize)]
struct FieldViolation {
    field: &'static str,
    description: String,
    reason: String,
}

#[derive(Serialize)]
struct ErrorDetail {
    #[serde(rename = "@type")]
    type_url: &'static str,
    #[serde(rename = "fieldViolations")]
    field_violations: [FieldViolation; 1],
}

#[derive(Serialize)]
struct RestError {
    code: i32,
    message: String,
    details: Vec<ErrorDetail>,
}

#[derive(Serialize)]
struct ConnectError {
    code: &'static str,
    message: String,
}

impl Dialect for Protocol {
    fn render(&self, failure: Failure) -> Response<Body> {
        let status = status_of(&failure);
        let mut resp = match self {
            Protocol::Rest => http::json_response(
                status.http,
                &RestError {
                    code: status.code.grpc(),
                    message: status.message,
                    details: status
                        .violations
                        .into_iter()
                        .map(|v| ErrorDetail {
                            type_url: "type.googleapis.com/google.rpc.BadRequest",
                            field_violations: [FieldViolation {
                                field: "new_password.password",
                                description: v.description,
                                reason: v.rule.to_ascii_uppercase(),
                            }],
                        })
                        .collect(),
                },
            ),
            Protocol::Connect => http::json_response(
                status.http,
                &ConnectError {
                    code: status.code.connect(),
                    message: status.message,
                },
            ),
        };
        if status.http == 415 {
            resp.headers_mut().insert(
                "accept-post",
                ::http::HeaderValue::from_static("application/json"),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_follows_the_procedure_path() {
        let req = |path: &str| {
            ::http::Request::builder()
                .uri(path)
                .body(Body::Empty)
                .unwrap()
        };
        let of = |path: &str, m: &str| Protocol::of(&req(path), m);
        assert_eq!(
            of(
                "/zitadel.user.v2.UserService/PasswordReset",
                "PasswordReset"
            ),
            Protocol::Connect
        );
        assert_eq!(
            of(
                "/prod/zitadel.user.v2.UserService/SetPassword",
                "SetPassword"
            ),
            Protocol::Connect
        );
        assert_eq!(
            of("/v2/users/u1/password_reset", "PasswordReset"),
            Protocol::Rest
        );
        assert_eq!(
            of(
                "/v2/users/zitadel.user.v2.UserService/password",
                "SetPassword"
            ),
            Protocol::Rest
        );
        assert_eq!(
            of("/xzitadel.user.v2.UserService/SetPassword", "SetPassword"),
            Protocol::Rest
        );
    }
}
