//! `PasswordReset`: a verification code for a user, mailed as a link or
//! returned to the caller.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::protocol::Protocol;
use super::{Details, bearer, parse_body, raw_user_id, user_id};
use crate::App;
use crate::contract::{Failure, answer};
use crate::domain::Scope;
use crate::http::{self, RequestError};
use crate::reset::{CodeDelivery, ResetError};
use crate::routes::Function;
use crate::url_template::CodeUrlTemplate;

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

/// A `urlTemplate` pointing where no organisation (or not the user's)
/// allows: the same answer either way.
fn origin_not_allowed() -> RequestError {
    RequestError::invalid(
        "sendLink.urlTemplate",
        "sendLink.urlTemplate points to an origin that is not allowed",
    )
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
                .map_err(|e| RequestError::invalid("sendLink.urlTemplate", e.to_string()))?;
            if !app.reset.links().origin_allowed(&template.origin()) {
                return Err(origin_not_allowed().into());
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
pub async fn request_user_reset(app: &App, req: Request) -> Response<Body> {
    let protocol = Protocol::of(&req, "PasswordReset");
    answer(
        Function::RequestUserReset,
        protocol,
        handle_request_user_reset(app, &req, protocol),
    )
    .await
}

async fn handle_request_user_reset(
    app: &App,
    req: &Request,
    protocol: Protocol,
) -> Result<Response<Body>, Failure> {
    let key = app.keys.authorize(bearer(req), Scope::UsersWrite).await?;
    let body: PasswordResetBody = parse_body(req)?;
    let raw_id = raw_user_id(req, protocol, body.user_id.as_deref())?;
    let delivery = delivery(app, body.send_link, body.return_code.is_some())?;
    let user_id = user_id(raw_id)?;
    let (details, code) = app
        .reset
        .issue_code(
            &user_id,
            delivery,
            &key,
            &http::client_info(req, app.edge_secret()),
        )
        .await
        .map_err(|e| match e {
            ResetError::DestinationNotAllowed => Failure::from(origin_not_allowed()),
            other => other.into(),
        })?;
    Ok(http::json_response(
        200,
        &PasswordResetResponse {
            details: Details::from_change(details)?,
            verification_code: code,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
