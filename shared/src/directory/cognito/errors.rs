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

/// Maps a failed call. Only Cognito's error code is kept: a message may
/// quote the request (a filter naming the address), so it never reaches a
/// log, except the policy text of `InvalidPasswordException`.
pub(super) fn classify<E, R>(operation: &'static str, err: SdkError<E, R>) -> DirectoryError
where
    E: ProvideErrorMetadata,
{
    let code = err.code().map(str::to_string);
    let message = err.message().unwrap_or_default().to_string();
    match (&err, code.as_deref()) {
        (_, Some("InvalidPasswordException")) => DirectoryError::PasswordRefused(refused(&message)),
        (_, Some("UserNotFoundException")) => DirectoryError::UserGone,
        (_, Some("TooManyRequestsException" | "LimitExceededException")) => {
            DirectoryError::Unavailable(format!("{operation}: throttled"))
        }
        (SdkError::ServiceError(_), Some(code)) => {
            DirectoryError::Unavailable(format!("{operation}: {code}"))
        }
        (SdkError::ServiceError(_), None) => {
            DirectoryError::Unavailable(format!("{operation}: service error"))
        }
        (SdkError::TimeoutError(_), _) => {
            DirectoryError::Unavailable(format!("{operation}: timeout"))
        }
        (SdkError::DispatchFailure(_), _) => {
            DirectoryError::Unavailable(format!("{operation}: unreachable"))
        }
        (SdkError::ResponseError(_), _) => {
            DirectoryError::Unavailable(format!("{operation}: unreadable response"))
        }
        _ => DirectoryError::Internal(format!("{operation}: request not built")),
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
