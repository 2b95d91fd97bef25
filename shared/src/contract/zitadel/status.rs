//! What each failure is in gRPC terms: one code, one message, and for a
//! weak password the rules it failed. Both protocols render from this.

use crate::contract::Failure;
use crate::http::RequestError;
use crate::reset::ResetError;

/// The gRPC status codes this contract answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Code {
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
    pub(super) fn grpc(self) -> i32 {
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
    pub(super) fn connect(self) -> &'static str {
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
    pub(super) fn http(self) -> u16 {
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
pub(super) struct RuleViolation {
    pub(super) rule: &'static str,
    pub(super) description: String,
}

/// A failure as this contract reports it, before choosing the protocol.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Status {
    pub(super) code: Code,
    pub(super) http: u16,
    pub(super) message: String,
    pub(super) violations: Vec<RuleViolation>,
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
pub(super) fn status_of(failure: &Failure) -> Status {
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
            | ResetError::InvalidSignature
            | ResetError::DestinationNotAllowed
            // Not produced by Zitadel's routes.
            | ResetError::Token(_) => {
                Status::new(Code::InvalidArgument, e.to_string())
            }
            ResetError::CodeExpired
            | ResetError::UsedToken
            | ResetError::SignatureExpired
            | ResetError::NotConfigured(_)
            // The caller holds a key for this user: it may hear why no
            // text can go (Zitadel answers the same for a missing phone).
            | ResetError::NoVerifiedPhone
            | ResetError::PhoneCountryNotAllowed => {
                Status::new(Code::FailedPrecondition, e.to_string())
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scope;
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
                ResetError::NoVerifiedPhone.into(),
                Code::FailedPrecondition,
                400,
            ),
            (
                ResetError::PhoneCountryNotAllowed.into(),
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
}
