//! Cognito's errors in the directory's terms, and the `ListUsers` filter
//! syntax. The one place an SDK error becomes a `DirectoryError`.

use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};

use crate::directory::DirectoryError;
use crate::password::{PolicyRule, PolicyViolation};

/// A `ListUsers` filter value: Cognito's filter is `attribute = "value"`,
/// with `\` and `"` escaped by a backslash.
pub(super) fn filter_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    for c in raw.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What a failed Cognito call came to, as much as may be logged: the
/// operation and the kind of failure (an error code at most), never the
/// SDK's message, which may quote the request (a filter naming the address).
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {failure}")]
pub struct CognitoFailure {
    pub operation: &'static str,
    pub failure: Failure,
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("throttled")]
    Throttled,
    #[error("{0}")]
    Code(String),
    #[error("service error")]
    ServiceError,
    #[error("timeout")]
    Timeout,
    #[error("unreachable")]
    Unreachable,
    #[error("unreadable response")]
    UnreadableResponse,
    #[error("request not built")]
    RequestNotBuilt,
    /// MFA or another challenge: the pool wants more than a password.
    #[error("challenge {0:?}")]
    Challenge(Option<String>),
    #[error("no tokens")]
    NoTokens,
}

impl CognitoFailure {
    pub(super) fn unavailable(operation: &'static str, failure: Failure) -> DirectoryError {
        DirectoryError::Unavailable(Box::new(Self { operation, failure }))
    }

    pub(super) fn internal(operation: &'static str, failure: Failure) -> DirectoryError {
        DirectoryError::Internal(Box::new(Self { operation, failure }))
    }
}

/// Maps a failed call. Only Cognito's error code is kept: a message may
/// quote the request (a filter naming the address), so it never reaches a
/// log, except the policy text of `InvalidPasswordException`.
pub(super) fn classify<E, R>(operation: &'static str, err: SdkError<E, R>) -> DirectoryError
where
    E: ProvideErrorMetadata,
{
    let code = err.code().map(str::to_string);
    let message = err.message().unwrap_or_default().to_string();
    let unavailable = |failure| CognitoFailure::unavailable(operation, failure);
    match (&err, code) {
        (_, Some(code)) if code == "InvalidPasswordException" => {
            DirectoryError::PasswordRefused(refused(&message))
        }
        (_, Some(code)) if code == "UserNotFoundException" => DirectoryError::UserGone,
        (_, Some(code))
            if code == "TooManyRequestsException" || code == "LimitExceededException" =>
        {
            unavailable(Failure::Throttled)
        }
        (SdkError::ServiceError(_), Some(code)) => unavailable(Failure::Code(code)),
        (SdkError::ServiceError(_), None) => unavailable(Failure::ServiceError),
        (SdkError::TimeoutError(_), _) => unavailable(Failure::Timeout),
        (SdkError::DispatchFailure(_), _) => unavailable(Failure::Unreachable),
        (SdkError::ResponseError(_), _) => unavailable(Failure::UnreadableResponse),
        _ => CognitoFailure::internal(operation, Failure::RequestNotBuilt),
    }
}

/// The rule Cognito's policy message names: length and character classes
/// are rekey's rules too; anything else is the pool's own.
fn refused(message: &str) -> PolicyViolation {
    let lower = message.to_lowercase();
    let rule = if lower.contains("long enough") || lower.contains("length") {
        PolicyRule::MinLength
    } else if ["uppercase", "lowercase", "numeric", "symbol"]
        .iter()
        .any(|class| lower.contains(class))
    {
        PolicyRule::CharacterClasses
    } else {
        PolicyRule::DirectoryPolicy
    };
    let message = if message.is_empty() {
        "must meet the user pool's password policy".to_string()
    } else {
        format!("must meet the user pool's password policy ({message})")
    };
    PolicyViolation { rule, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_escape_backslash_and_quote() {
        assert_eq!(
            filter_value(r#"a"b\c@example.com"#),
            r#"a\"b\\c@example.com"#
        );
        assert_eq!(filter_value("ada@example.com"), "ada@example.com");
    }

    #[test]
    fn policy_messages_name_the_rule() {
        assert_eq!(
            refused("Password not long enough").rule,
            PolicyRule::MinLength
        );
        assert_eq!(
            refused("Password must have symbol characters").rule,
            PolicyRule::CharacterClasses
        );
        let other =
            refused("The provided password does not confirm to the configured password policy");
        assert_eq!(other.rule, PolicyRule::DirectoryPolicy);
        assert!(other.message.contains("user pool"));
    }
}
