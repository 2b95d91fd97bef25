//! Zitadel's user service v2 (seed 003 and its completion): `PasswordReset`
//! issues a short code, `SetPassword` redeems it (or the current password,
//! or nothing for `users:admin` keys). Each handler serves two routes:
//!
//! - REST (grpc-gateway style): `POST /v2/users/{userId}/password_reset` and
//!   `POST /v2/users/{userId}/password`, the user id in the path. Errors are
//!   `{"code": <gRPC code number>, "message", "details": [...]}`.
//! - Connect (what the official SDKs call):
//!   `POST /zitadel.user.v2.UserService/PasswordReset` and `.../SetPassword`,
//!   `userId` in the body. Errors are Connect's `{"code": "<snake_case>",
//!   "message"}` with Connect's HTTP status for the code.
//!
//! The dialect is chosen from the path: a path ending in
//! `/zitadel.user.v2.UserService/<Method>` is Connect (any routing prefix,
//! such as an API Gateway stage, is allowed, as Connect permits), anything
//! else is REST. Success bodies are the same proto3 JSON in both.
//!
//! Decisions where the contract is silent:
//! - Errors map to a gRPC code in one place, [`status_of`]; both dialects
//!   render from it. The HTTP status is the code's, except for two transport
//!   failures: a body that is not `application/json` is HTTP 415 with
//!   INVALID_ARGUMENT (gRPC 3, Connect `invalid_argument`; Connect requires
//!   415 for an unsupported codec, and the response carries
//!   `Accept-Post: application/json`), and a body over 16 KiB is HTTP 413
//!   with RESOURCE_EXHAUSTED (8 / `resource_exhausted`), which is what gRPC
//!   and connect-go say for a message over the size limit.
//! - The key is checked before the body is read: without a valid key the
//!   answer is 401 whatever the body.
//! - Bodies are parsed like protojson: camelCase or the proto field names
//!   (`send_link`, `user_id`, ...), unknown fields ignored (as connect-go and
//!   grpc-gateway do), `null` is "not set", an empty body is `{}`.
//! - userId: missing, empty or longer than 200 characters (Zitadel's own
//!   validation bounds) is INVALID_ARGUMENT; any other id that is not a
//!   well-formed rekey id cannot name a user and is NOT_FOUND. On REST a
//!   `userId` in the body that differs from the path is INVALID_ARGUMENT.
//! - `sendLink.urlTemplate: ""` means the configured template. Request
//!   validation (INVALID_ARGUMENT) comes before state checks (SMS is
//!   FAILED_PRECONDITION, the user NOT_FOUND), as gRPC's code guide says.
//! - An empty `verificationCode` or `currentPassword` is INVALID_ARGUMENT and
//!   costs no code attempt. `newPassword.changeRequired` is accepted and has
//!   no effect: rekey has no sign-in flow that could enforce it.
//! - A weak password names each failed rule in the message; REST `details`
//!   holds one `google.rpc.BadRequest` per rule. Connect errors carry no
//!   details: Connect details must hold binary protobuf, which rekey does not
//!   produce; the message names every rule instead.
//! - Nothing from the body (codes, passwords) is ever logged; only server
//!   failures are, through [`Failure::log`].

use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use crate::App;
use crate::domain::{Scope, UserId};
use crate::http::{self, RequestError};
use crate::link::CodeUrlTemplate;
use crate::reset::{ChangeDetails, CodeDelivery, PasswordProof, ResetError};

/// The Connect service both procedures belong to.
const SERVICE: &str = "zitadel.user.v2.UserService";

/// Zitadel validates user ids to at most this many characters.
const MAX_USER_ID: usize = 200;

/// The gRPC status codes this contract answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Internal,
    Unavailable,
    Unauthenticated,
}

impl Code {
    /// The number in grpc/status codes.
    fn grpc(self) -> i32 {
        match self {
            Code::InvalidArgument => 3,
            Code::NotFound => 5,
            Code::PermissionDenied => 7,
            Code::ResourceExhausted => 8,
            Code::FailedPrecondition => 9,
            Code::Internal => 13,
            Code::Unavailable => 14,
            Code::Unauthenticated => 16,
        }
    }

    /// Connect's name for the code.
    fn connect(self) -> &'static str {
        match self {
            Code::InvalidArgument => "invalid_argument",
            Code::NotFound => "not_found",
            Code::PermissionDenied => "permission_denied",
            Code::ResourceExhausted => "resource_exhausted",
            Code::FailedPrecondition => "failed_precondition",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::Unauthenticated => "unauthenticated",
        }
    }

    /// The HTTP status both grpc-gateway and Connect give the code.
    fn http(self) -> u16 {
        match self {
            Code::InvalidArgument | Code::FailedPrecondition => 400,
            Code::Unauthenticated => 401,
            Code::PermissionDenied => 403,
            Code::NotFound => 404,
            Code::ResourceExhausted => 429,
            Code::Internal => 500,
            Code::Unavailable => 503,
        }
    }
}

/// One failed password rule, for REST `details`.
#[derive(Debug, PartialEq, Eq)]
struct RuleViolation {
    rule: &'static str,
    description: String,
}

/// A failure as this contract reports it, before choosing the dialect.
#[derive(Debug, PartialEq, Eq)]
struct Status {
    code: Code,
    http: u16,
    message: String,
    violations: Vec<RuleViolation>,
}

impl Status {
    fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            http: code.http(),
            message: message.into(),
            violations: Vec::new(),
        }
    }
}

/// The one mapping from what went wrong to a gRPC code and message.
fn status_of(failure: &Failure) -> Status {
    match failure {
        Failure::Request(e) => match e {
            RequestError::UnsupportedMediaType => Status {
                http: 415,
                ..Status::new(Code::InvalidArgument, e.to_string())
            },
            RequestError::PayloadTooLarge => Status {
                http: 413,
                ..Status::new(Code::ResourceExhausted, e.to_string())
            },
            RequestError::MalformedJson(_) | RequestError::InvalidField { .. } => {
                Status::new(Code::InvalidArgument, e.to_string())
            }
        },
        Failure::Reset(e) => match e {
            ResetError::Unauthenticated => Status::new(
                Code::Unauthenticated,
                "missing or unknown API key: send Authorization: Bearer <key>",
            ),
            ResetError::Forbidden(_) | ResetError::VerificationRequired => {
                Status::new(Code::PermissionDenied, e.to_string())
            }
            ResetError::UserNotFound => Status::new(Code::NotFound, "User could not be found"),
            ResetError::RateLimited { .. } => Status::new(Code::ResourceExhausted, e.to_string()),
            ResetError::CodeMismatch
            | ResetError::WrongCurrentPassword
            | ResetError::InvalidToken
            | ResetError::InvalidSignature => Status::new(Code::InvalidArgument, e.to_string()),
            ResetError::CodeExpired
            | ResetError::UsedToken
            | ResetError::SignatureExpired
            | ResetError::NotConfigured(_) => Status::new(Code::FailedPrecondition, e.to_string()),
            ResetError::WeakPassword(failed) => {
                let listed: Vec<String> = failed
                    .iter()
                    .map(|v| format!("{} ({})", v.rule.name(), v.message))
                    .collect();
                Status {
                    violations: failed
                        .iter()
                        .map(|v| RuleViolation {
                            rule: v.rule.name(),
                            description: format!("The password {}.", v.message),
                        })
                        .collect(),
                    ..Status::new(
                        Code::InvalidArgument,
                        format!(
                            "the new password does not meet the password policy: {}",
                            listed.join("; ")
                        ),
                    )
                }
            }
            ResetError::Unavailable(_) => Status::new(
                Code::Unavailable,
                "the service is temporarily unavailable, retry shortly",
            ),
            ResetError::Internal(_) => Status::new(Code::Internal, "internal error"),
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Rest,
    Connect,
}

impl Dialect {
    /// Connect when the path ends in the procedure's name.
    fn of(req: &Request, method: &str) -> Self {
        let path = req.uri().path();
        let procedure = path
            .strip_suffix(method)
            .and_then(|p| p.strip_suffix('/'))
            .and_then(|p| p.strip_suffix(SERVICE))
            .is_some_and(|p| p.ends_with('/'));
        if procedure {
            Dialect::Connect
        } else {
            Dialect::Rest
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

/// Renders a failure in the request's dialect; the one place errors leave.
fn render_failure(function: &str, dialect: Dialect, failure: Failure) -> Response<Body> {
    let retry_after = failure.retry_after();
    super::with_retry_after(render_dialect(function, dialect, failure), retry_after)
}

fn render_dialect(function: &str, dialect: Dialect, failure: Failure) -> Response<Body> {
    failure.log(function);
    let status = status_of(&failure);
    let mut resp = match dialect {
        Dialect::Rest => http::json_response(
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
        Dialect::Connect => http::json_response(
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

/// Zitadel's `details` (`zitadel.object.v2.Details`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Details {
    /// proto3 JSON writes 64-bit integers as strings.
    sequence: String,
    change_date: String,
    resource_owner: String,
}

impl Details {
    fn from_change(d: ChangeDetails) -> Result<Self, ResetError> {
        let change_date = OffsetDateTime::from_unix_timestamp(d.change_date)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .ok_or_else(|| {
                ResetError::Internal(format!("change date {} out of range", d.change_date))
            })?;
        Ok(Self {
            sequence: d.sequence.to_string(),
            change_date,
            resource_owner: d.resource_owner,
        })
    }
}

/// The `Authorization: Bearer <key>` credential, if the header has one.
fn bearer(req: &Request) -> Option<&str> {
    let value = req
        .headers()
        .get(::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

/// Parses the body; an empty one is the empty message `{}`.
fn parse_body<T: DeserializeOwned>(req: &Request) -> Result<T, RequestError> {
    match http::json_body(req) {
        Err(RequestError::MalformedJson(_)) if http::body_bytes(req).trim_ascii().is_empty() => {
            serde_json::from_str("{}")
                .map_err(|_| RequestError::invalid("body", "body must not be empty"))
        }
        other => other,
    }
}

/// The user id the request names, checked for presence and length only:
/// INVALID_ARGUMENT when absent, before any other check on the body.
fn raw_user_id<'a>(
    req: &'a Request,
    dialect: Dialect,
    in_body: Option<&'a str>,
) -> Result<&'a str, Failure> {
    let raw = match dialect {
        Dialect::Connect => in_body,
        Dialect::Rest => {
            let in_path = req.path_parameters_ref().and_then(|p| p.first("userId"));
            if let (Some(path), Some(body)) = (in_path, in_body)
                && path != body
            {
                return Err(RequestError::invalid(
                    "userId",
                    "userId in the body differs from the path",
                )
                .into());
            }
            in_path
        }
    };
    match raw {
        None | Some("") => Err(RequestError::invalid("userId", "userId is required").into()),
        Some(id) if id.chars().count() > MAX_USER_ID => Err(RequestError::invalid(
            "userId",
            format!("userId is longer than {MAX_USER_ID} characters"),
        )
        .into()),
        Some(id) => Ok(id),
    }
}

/// A well-formed id, or NOT_FOUND: no user can have any other.
fn user_id(raw: &str) -> Result<UserId, Failure> {
    UserId::parse(raw).ok_or_else(|| ResetError::UserNotFound.into())
}

/// `PasswordResetRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordResetBody {
    #[serde(default, alias = "user_id")]
    user_id: Option<String>,
    #[serde(default, alias = "send_link")]
    send_link: Option<SendLink>,
    /// `ReturnCode` has no fields; any object selects it.
    #[serde(default, alias = "return_code")]
    return_code: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendLink {
    /// A proto3 JSON enum: its name or its number.
    #[serde(default, alias = "notification_type")]
    notification_type: Option<serde_json::Value>,
    #[serde(default, alias = "url_template")]
    url_template: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NotificationType {
    Unspecified,
    Email,
    Sms,
}

impl NotificationType {
    fn parse(value: Option<&serde_json::Value>) -> Result<Self, RequestError> {
        use serde_json::Value;
        let parsed = match value {
            None | Some(Value::Null) => Some(NotificationType::Unspecified),
            Some(Value::String(s)) => match s.as_str() {
                "NOTIFICATION_TYPE_Unspecified" => Some(NotificationType::Unspecified),
                "NOTIFICATION_TYPE_Email" => Some(NotificationType::Email),
                "NOTIFICATION_TYPE_SMS" => Some(NotificationType::Sms),
                _ => None,
            },
            Some(Value::Number(n)) => match n.as_i64() {
                Some(0) => Some(NotificationType::Unspecified),
                Some(1) => Some(NotificationType::Email),
                Some(2) => Some(NotificationType::Sms),
                _ => None,
            },
            Some(_) => None,
        };
        parsed.ok_or_else(|| {
            RequestError::invalid(
                "sendLink.notificationType",
                "sendLink.notificationType must be NOTIFICATION_TYPE_Unspecified, NOTIFICATION_TYPE_Email or NOTIFICATION_TYPE_SMS (or 0, 1, 2)",
            )
        })
    }
}

/// How the code should reach the user: request checks first, then what this
/// deployment can do.
fn delivery(
    app: &App,
    send_link: Option<SendLink>,
    return_code: bool,
) -> Result<CodeDelivery, Failure> {
    let link = match (send_link, return_code) {
        (Some(_), true) => {
            return Err(RequestError::invalid(
                "sendLink",
                "sendLink and returnCode are mutually exclusive: send one of them or neither",
            )
            .into());
        }
        (None, true) => return Ok(CodeDelivery::ReturnCode),
        (None, false) => return Ok(CodeDelivery::SendLink(None)),
        (Some(link), false) => link,
    };
    let medium = NotificationType::parse(link.notification_type.as_ref())?;
    let template = match link.url_template.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            let template = CodeUrlTemplate::parse(raw)
                .map_err(|e| RequestError::invalid("sendLink.urlTemplate", e))?;
            if !app.reset.links().origin_allowed(&template.origin()) {
                return Err(RequestError::invalid(
                    "sendLink.urlTemplate",
                    "sendLink.urlTemplate points to an origin that is not allowed",
                )
                .into());
            }
            Some(template)
        }
    };
    if medium == NotificationType::Sms {
        return Err(ResetError::NotConfigured("SMS delivery").into());
    }
    Ok(CodeDelivery::SendLink(template))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PasswordResetResponse {
    details: Details,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_code: Option<String>,
}

/// `POST /v2/users/{userId}/password_reset` and
/// `POST /zitadel.user.v2.UserService/PasswordReset`.
pub async fn password_reset(app: &App, req: Request) -> Response<Body> {
    let dialect = Dialect::of(&req, "PasswordReset");
    handle_password_reset(app, &req, dialect)
        .await
        .unwrap_or_else(|f| render_failure("request-user-reset", dialect, f))
}

async fn handle_password_reset(
    app: &App,
    req: &Request,
    dialect: Dialect,
) -> Result<Response<Body>, Failure> {
    app.reset.authorize(bearer(req), Scope::UsersWrite).await?;
    let body: PasswordResetBody = parse_body(req)?;
    let raw_id = raw_user_id(req, dialect, body.user_id.as_deref())?;
    let delivery = delivery(app, body.send_link, body.return_code.is_some())?;
    let user_id = user_id(raw_id)?;
    let (details, code) = app
        .reset
        .issue_code(&user_id, delivery, &http::client_info(req))
        .await?;
    Ok(http::json_response(
        200,
        &PasswordResetResponse {
            details: Details::from_change(details)?,
            verification_code: code,
        },
    ))
}

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
    let dialect = Dialect::of(&req, "SetPassword");
    handle_set_password(app, &req, dialect)
        .await
        .unwrap_or_else(|f| render_failure("set-password", dialect, f))
}

async fn handle_set_password(
    app: &App,
    req: &Request,
    dialect: Dialect,
) -> Result<Response<Body>, Failure> {
    let key = app.reset.authorize(bearer(req), Scope::UsersWrite).await?;
    let body: SetPasswordBody = parse_body(req)?;
    let raw_id = raw_user_id(req, dialect, body.user_id.as_deref())?;
    let proof = proof(body.verification_code, body.current_password)?;
    let user_id = user_id(raw_id)?;
    let details = app
        .reset
        .set_password_with_proof(
            &user_id,
            &body.new_password.password,
            proof,
            &key,
            &http::client_info(req),
        )
        .await?;
    Ok(http::json_response(
        200,
        &SetPasswordResponse {
            details: Details::from_change(details)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{PolicyRule, PolicyViolation};

    fn reset(e: ResetError) -> Status {
        status_of(&Failure::Reset(e))
    }

    #[test]
    fn every_failure_has_one_code_and_status() {
        let cases: Vec<(Failure, Code, u16)> = vec![
            (
                RequestError::UnsupportedMediaType.into(),
                Code::InvalidArgument,
                415,
            ),
            (
                RequestError::PayloadTooLarge.into(),
                Code::ResourceExhausted,
                413,
            ),
            (
                RequestError::MalformedJson(String::new()).into(),
                Code::InvalidArgument,
                400,
            ),
            (
                RequestError::invalid("x", "x is required").into(),
                Code::InvalidArgument,
                400,
            ),
            (
                ResetError::Unauthenticated.into(),
                Code::Unauthenticated,
                401,
            ),
            (
                ResetError::Forbidden(Scope::UsersWrite).into(),
                Code::PermissionDenied,
                403,
            ),
            (
                ResetError::VerificationRequired.into(),
                Code::PermissionDenied,
                403,
            ),
            (ResetError::UserNotFound.into(), Code::NotFound, 404),
            (
                ResetError::CodeExpired.into(),
                Code::FailedPrecondition,
                400,
            ),
            (
                ResetError::NotConfigured("SMS delivery").into(),
                Code::FailedPrecondition,
                400,
            ),
            (ResetError::CodeMismatch.into(), Code::InvalidArgument, 400),
            (
                ResetError::WrongCurrentPassword.into(),
                Code::InvalidArgument,
                400,
            ),
            (
                ResetError::Unavailable("down".into()).into(),
                Code::Unavailable,
                503,
            ),
            (
                ResetError::Internal("bug".into()).into(),
                Code::Internal,
                500,
            ),
        ];
        for (failure, code, http) in cases {
            let s = status_of(&failure);
            assert_eq!((s.code, s.http), (code, http), "{failure:?}");
            assert!(!s.message.is_empty());
        }
        // Server-side causes never reach the client.
        assert!(
            !reset(ResetError::Unavailable("table t1 at 10.0.0.1".into()))
                .message
                .contains("10.0.0.1")
        );
        assert!(
            !reset(ResetError::Internal("secret detail".into()))
                .message
                .contains("secret")
        );
    }

    #[test]
    fn codes_match_grpc_and_connect() {
        for (code, n, name) in [
            (Code::InvalidArgument, 3, "invalid_argument"),
            (Code::NotFound, 5, "not_found"),
            (Code::PermissionDenied, 7, "permission_denied"),
            (Code::ResourceExhausted, 8, "resource_exhausted"),
            (Code::FailedPrecondition, 9, "failed_precondition"),
            (Code::Internal, 13, "internal"),
            (Code::Unavailable, 14, "unavailable"),
            (Code::Unauthenticated, 16, "unauthenticated"),
        ] {
            assert_eq!((code.grpc(), code.connect()), (n, name));
        }
        assert_eq!(Code::ResourceExhausted.http(), 429);
    }

    #[test]
    fn weak_passwords_name_every_rule() {
        let s = reset(ResetError::WeakPassword(vec![
            PolicyViolation {
                rule: PolicyRule::MinLength,
                message: "must be at least 8 characters".into(),
            },
            PolicyViolation {
                rule: PolicyRule::Common,
                message: "is too common".into(),
            },
        ]));
        assert_eq!(s.code, Code::InvalidArgument);
        assert!(s.message.contains("min_length") && s.message.contains("common"));
        let rules: Vec<_> = s.violations.iter().map(|v| v.rule).collect();
        assert_eq!(rules, ["min_length", "common"]);
    }

    #[test]
    fn dialect_follows_the_procedure_path() {
        let req = |path: &str| {
            ::http::Request::builder()
                .uri(path)
                .body(Body::Empty)
                .unwrap()
        };
        let of = |path: &str, m: &str| Dialect::of(&req(path), m);
        assert_eq!(
            of(
                "/zitadel.user.v2.UserService/PasswordReset",
                "PasswordReset"
            ),
            Dialect::Connect
        );
        assert_eq!(
            of(
                "/prod/zitadel.user.v2.UserService/SetPassword",
                "SetPassword"
            ),
            Dialect::Connect
        );
        assert_eq!(
            of("/v2/users/u1/password_reset", "PasswordReset"),
            Dialect::Rest
        );
        assert_eq!(
            of(
                "/v2/users/zitadel.user.v2.UserService/password",
                "SetPassword"
            ),
            Dialect::Rest
        );
        assert_eq!(
            of("/xzitadel.user.v2.UserService/SetPassword", "SetPassword"),
            Dialect::Rest
        );
    }

    #[test]
    fn notification_types_are_proto3_json_enums() {
        use serde_json::json;
        let p = |v: serde_json::Value| NotificationType::parse(Some(&v));
        assert_eq!(
            NotificationType::parse(None).unwrap(),
            NotificationType::Unspecified
        );
        assert_eq!(p(json!(null)).unwrap(), NotificationType::Unspecified);
        assert_eq!(
            p(json!("NOTIFICATION_TYPE_Unspecified")).unwrap(),
            NotificationType::Unspecified
        );
        assert_eq!(
            p(json!("NOTIFICATION_TYPE_Email")).unwrap(),
            NotificationType::Email
        );
        assert_eq!(
            p(json!("NOTIFICATION_TYPE_SMS")).unwrap(),
            NotificationType::Sms
        );
        assert_eq!(p(json!(0)).unwrap(), NotificationType::Unspecified);
        assert_eq!(p(json!(1)).unwrap(), NotificationType::Email);
        assert_eq!(p(json!(2)).unwrap(), NotificationType::Sms);
        for bad in [
            json!(3),
            json!(-1),
            json!(1.5),
            json!("EMAIL"),
            json!(true),
            json!({}),
        ] {
            assert!(p(bad).is_err());
        }
    }

    #[test]
    fn change_dates_are_rfc3339_utc() {
        let d = Details::from_change(ChangeDetails {
            sequence: 7,
            change_date: 1_795_374_000,
            resource_owner: "org".into(),
        })
        .unwrap();
        assert_eq!(d.change_date, "2026-11-22T19:00:00Z");
        assert_eq!(d.sequence, "7");
        assert!(
            Details::from_change(ChangeDetails {
                sequence: 0,
                change_date: i64::MAX,
                resource_owner: String::new(),
            })
            .is_err()
        );
    }
}
