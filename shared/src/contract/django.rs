//! django-rest-registration's signed-link reset (AISquare's reset-password
//! and its send-link companion): errors are `{"detail": "..."}` or per field
//! `{"field": ["..."]}`, as Django REST framework renders them.

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

use super::Failure;
use crate::App;
use crate::domain::EmailAddress;
use crate::http::{self, RequestError};
use crate::reset::{AddressRequest, ResetError};
use crate::routes::Function;

const REQUIRED: &str = "This field is required.";

fn detail(status: u16, message: &str) -> Response<Body> {
    http::json_response(status, &json!({ "detail": message }))
}

fn fields(errors: Map<String, Value>) -> Response<Body> {
    http::json_response(400, &Value::Object(errors))
}

/// Django REST framework's dialect, the one place its errors are rendered.
struct Drf;

impl super::Dialect for Drf {
    fn render(&self, failure: Failure) -> Response<Body> {
        match failure {
            Failure::Request(e) => match e {
                RequestError::UnsupportedMediaType => detail(
                    415,
                    "Unsupported media type in request: use application/json.",
                ),
                RequestError::PayloadTooLarge => detail(413, "Request body is too large."),
                RequestError::MalformedJson(where_) => {
                    detail(400, &format!("JSON parse error{where_}"))
                }
                RequestError::InvalidField { field, message } => {
                    fields(Map::from_iter([(field, json!([message]))]))
                }
            },
            Failure::Reset(e) => match e {
                ResetError::InvalidSignature | ResetError::InvalidToken | ResetError::UsedToken => {
                    detail(400, "Invalid signature")
                }
                ResetError::SignatureExpired => detail(400, "Signature expired"),
                ResetError::WeakPassword(failed) => fields(Map::from_iter([(
                    "password".to_string(),
                    failed
                        .iter()
                        .map(|v| Value::String(format!("The password {}.", v.message)))
                        .collect(),
                )])),
                ResetError::Unavailable(_) => {
                    detail(503, "Service temporarily unavailable, try again later.")
                }
                ResetError::Internal(_) => detail(500, "A server error occurred."),
                ResetError::RateLimited { .. } => detail(429, "Request was throttled."),
                other => detail(400, &other.to_string()),
            },
        }
    }
}

/// The body as a JSON object, as DRF's serializers require.
fn object(req: &Request) -> Result<Map<String, Value>, RequestError> {
    match http::json_value(req)? {
        Value::Object(map) => Ok(map),
        other => {
            let got = match other {
                Value::Array(_) => "list",
                Value::String(_) => "str",
                Value::Number(_) => "int",
                Value::Bool(_) => "bool",
                _ => "NoneType",
            };
            Err(RequestError::invalid(
                "non_field_errors",
                format!("Invalid data. Expected a dictionary, but got {got}."),
            ))
        }
    }
}

/// Reads the named fields like DRF's serializer: every problem collected,
/// each under its field name.
struct FieldReader<'a> {
    body: &'a Map<String, Value>,
    errors: Map<String, Value>,
}

impl<'a> FieldReader<'a> {
    fn new(body: &'a Map<String, Value>) -> Self {
        Self {
            body,
            errors: Map::new(),
        }
    }

    fn fail(&mut self, field: &str, message: &str) {
        self.errors.insert(field.to_string(), json!([message]));
    }

    fn string(&mut self, field: &str, required: bool) -> Option<&'a str> {
        match self.body.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, REQUIRED);
                }
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.fail(field, "This field may not be blank.");
                None
            }
            Some(Value::String(s)) if s.contains('\0') => {
                self.fail(field, "Null characters are not allowed.");
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(field, "Not a valid string.");
                None
            }
        }
    }

    /// DRF's IntegerField takes a number or a numeric string.
    fn integer(&mut self, field: &str) -> Option<i64> {
        let parsed = match self.body.get(field) {
            None | Some(Value::Null) => {
                self.fail(field, REQUIRED);
                return None;
            }
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        if parsed.is_none() {
            self.fail(field, "A valid integer is required.");
        }
        parsed
    }

    /// DRF's 400 naming every failed field at once, if any failed. Built
    /// here rather than through `Drf::render`: a `Failure` carries one field.
    /// (So it is not counted among the `Rejections`, as it never was.)
    fn refusal(self) -> Option<Response<Body>> {
        (!self.errors.is_empty()).then(|| fields(self.errors))
    }
}

/// `POST /api/v1/iam/accounts/send-reset-password-link/ {login}`: always
/// 200 for a well-formed request, whether or not the login has an account.
pub async fn send_reset_link(app: &App, req: Request) -> Response<Body> {
    let function = Function::SendResetLink;
    super::answer(function, Drf, async {
        let client = super::public_caller(app, function, &req).await?;
        let body = object(&req)?;
        let mut reader = FieldReader::new(&body);
        let login = reader.string("login", true);
        if let Some(refusal) = reader.refusal() {
            return Ok(refusal);
        }
        // Logins are email addresses here; one that is not cannot have an
        // account, and is answered like any other unknown login.
        if let Some(email) = login.and_then(EmailAddress::parse) {
            app.reset
                .accept_address_request(AddressRequest::SignedLink, &email, &client, None)
                .await?;
        }
        Ok(detail(200, "Reset link sent"))
    })
    .await
}

/// `POST /api/v1/iam/accounts/reset-password/ {user_id, timestamp,
/// signature, password, password_confirm?}`.
pub async fn reset_password_signed(app: &App, req: Request) -> Response<Body> {
    let function = Function::ResetPasswordSigned;
    super::answer(function, Drf, async {
        let client = super::public_caller(app, function, &req).await?;
        let body = object(&req)?;
        let mut reader = FieldReader::new(&body);
        let user_id = reader.string("user_id", true);
        let timestamp = reader.integer("timestamp");
        let signature = reader.string("signature", true);
        let password = reader.string("password", true);
        let confirm = reader.string("password_confirm", false);
        if let (Some(p), Some(c)) = (password, confirm)
            && p != c
        {
            reader.fail("password_confirm", "Passwords don't match");
        }
        if let Some(refusal) = reader.refusal() {
            return Ok(refusal);
        }
        let (Some(user_id), Some(timestamp), Some(signature), Some(password)) =
            (user_id, timestamp, signature, password)
        else {
            unreachable!("refusal() reports every missing field")
        };
        app.reset
            .reset_with_signature(
                user_id,
                crate::domain::UnixTime::from_secs(timestamp),
                signature,
                password,
                &client,
            )
            .await?;
        Ok(detail(200, "Reset password successful"))
    })
    .await
}
