//! Zitadel's user service v2 (its `PasswordReset` and the `SetPassword` that
//! completes it): `PasswordReset` issues a short code, `SetPassword` redeems it (or the current password,
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
//! The protocol is chosen from the path (`protocol::Protocol`): a path ending in
//! `/zitadel.user.v2.UserService/<Method>` is Connect (any routing prefix,
//! such as an API Gateway stage, is allowed, as Connect permits), anything
//! else is REST. Success bodies are the same proto3 JSON in both.
//!
//! Decisions where the contract is silent:
//! - Errors map to a gRPC code in one place, `status::status_of`; both protocols
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
//!
//! Files: `status` (the gRPC code of each failure), `protocol` (REST or
//! Connect, and their error bodies), `code` (`PasswordReset`), `password`
//! (`SetPassword`); this module holds what both procedures read.

mod protocol;
mod request_user_reset;
mod set_password;
mod status;

pub use request_user_reset::request_user_reset;
pub use set_password::set_password;

use lambda_http::{Request, RequestExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Failure;
use crate::domain::UserId;
use crate::http::{self, RequestError};
use crate::reset::{ChangeDetails, ResetError};
use protocol::Protocol;

/// Zitadel validates user ids to at most this many characters.
const MAX_USER_ID: usize = 200;

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
        let change_date = OffsetDateTime::from_unix_timestamp(d.change_date.secs())
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .ok_or_else(|| {
                ResetError::internal(
                    format!("change date {}", d.change_date),
                    crate::error::Invariant("out of range"),
                )
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
    protocol: Protocol,
    in_body: Option<&'a str>,
) -> Result<&'a str, Failure> {
    let raw = match protocol {
        Protocol::Connect => in_body,
        Protocol::Rest => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_dates_are_rfc3339_utc() {
        let d = Details::from_change(ChangeDetails {
            sequence: 7,
            change_date: crate::domain::UnixTime::from_secs(1_795_374_000),
            resource_owner: "org".into(),
        })
        .unwrap();
        assert_eq!(d.change_date, "2026-11-22T19:00:00Z");
        assert_eq!(d.sequence, "7");
        assert!(
            Details::from_change(ChangeDetails {
                sequence: 0,
                change_date: crate::domain::UnixTime::from_secs(i64::MAX),
                resource_owner: String::new(),
            })
            .is_err()
        );
    }
}
