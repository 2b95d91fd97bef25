//! The password policy (every failed rule is named) and argon2id hashing
//! (`hash`).

mod hash;

pub use hash::{
    CredentialHasher, HashError, HashParams, HashProblem, HashScheme, MAX_PBKDF2_ITERATIONS,
    Verification,
};

use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;

/// A rule of the password policy; its name is what clients see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyRule {
    MinLength,
    MaxLength,
    CharacterClasses,
    Common,
    ContainsEmail,
    Reused,
    ControlCharacters,
    /// A rule of the directory that keeps the password (a Cognito user
    /// pool's policy, stricter than rekey's).
    DirectoryPolicy,
}

impl PolicyRule {
    pub fn name(self) -> &'static str {
        match self {
            Self::MinLength => "min_length",
            Self::MaxLength => "max_length",
            Self::CharacterClasses => "character_classes",
            Self::Common => "common",
            Self::ContainsEmail => "contains_email",
            Self::Reused => "reused",
            Self::ControlCharacters => "control_characters",
            Self::DirectoryPolicy => "directory_policy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PolicyViolation {
    pub rule: PolicyRule,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// Of lower, upper, digit, other.
    pub min_classes: usize,
    pub reject_common: bool,
    pub reject_email: bool,
    /// Reject the last N passwords (0: off).
    pub history: usize,
}

/// Hard ceiling on any configured maximum: bounds the cost of the strength
/// estimate and of hashing whatever the configuration says.
pub const ABSOLUTE_MAX_LENGTH: usize = 1024;

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            min_classes: 3,
            reject_common: true,
            reject_email: true,
            history: 0,
        }
    }
}

/// A password after NFKC normalisation, which is what gets checked and hashed,
/// so the same password typed on two keyboards hashes alike.
pub struct NewPassword(SecretString);

impl NewPassword {
    pub fn normalize(raw: &str) -> Self {
        Self(raw.nfkc().collect::<String>().into())
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    pub fn char_count(&self) -> usize {
        self.expose().chars().count()
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl PasswordPolicy {
    /// Checks every rule that needs no stored hash; returns each failure.
    /// `email` is the account's address, when known.
    pub fn check(&self, password: &NewPassword, email: Option<&str>) -> Vec<PolicyViolation> {
        let mut failed = Vec::new();
        let pw = password.expose();
        let len = password.char_count();
        if len < self.min_length {
            failed.push(PolicyViolation {
                rule: PolicyRule::MinLength,
                message: format!("must be at least {} characters long", self.min_length),
            });
        }
        if len > self.max_length {
            failed.push(PolicyViolation {
                rule: PolicyRule::MaxLength,
                message: format!("must be at most {} characters long", self.max_length),
            });
            // Nothing more is computed on an oversized input.
            return failed;
        }
        // NUL and other control characters: invisible, untypeable on most
        // keyboards, and a classic way to truncate a value in C libraries.
        if pw.chars().any(char::is_control) {
            failed.push(PolicyViolation {
                rule: PolicyRule::ControlCharacters,
                message: "must not contain control characters".to_string(),
            });
        }
        let classes = [
            pw.chars().any(char::is_lowercase),
            pw.chars().any(char::is_uppercase),
            pw.chars().any(|c| c.is_ascii_digit() || c.is_numeric()),
            pw.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if classes < self.min_classes {
            failed.push(PolicyViolation {
                rule: PolicyRule::CharacterClasses,
                message: format!(
                    "must contain at least {} of: lower-case letters, upper-case letters, digits, other characters",
                    self.min_classes
                ),
            });
        }
        let local_part = email
            .and_then(|e| e.split('@').next())
            .map(str::to_lowercase)
            .filter(|l| l.chars().count() >= 3);
        if self.reject_email
            && let Some(local) = &local_part
            && pw.to_lowercase().contains(local.as_str())
        {
            failed.push(PolicyViolation {
                rule: PolicyRule::ContainsEmail,
                message: "must not contain the account's email address".to_string(),
            });
        }
        if self.reject_common && !pw.is_empty() && is_common(pw, local_part.as_deref()) {
            failed.push(PolicyViolation {
                rule: PolicyRule::Common,
                message: "is a commonly used password or too easy to guess".to_string(),
            });
        }
        failed
    }
}

/// Characters of a password the strength estimate sees. zxcvbn's matching is
/// superlinear in its input, and a crafted password at the maximum length
/// costs hundreds of milliseconds on the public validate-password route; the
/// first 100 characters decide whether a password is guessable all the same.
pub const ESTIMATED_PREFIX: usize = 100;

/// The part of `password` the strength estimate is fed.
fn estimated_prefix(password: &str) -> &str {
    match password.char_indices().nth(ESTIMATED_PREFIX) {
        Some((end, _)) => &password[..end],
        None => password,
    }
}

/// Common: zxcvbn rates it at most "very guessable" (under 10^6 guesses), or
/// warns that it is, or resembles, an entry of its leaked-password lists.
fn is_common(password: &str, local_part: Option<&str>) -> bool {
    is_common_by(password, local_part, zxcvbn::zxcvbn)
}

/// `is_common` with the estimator passed in, so that what it is fed can be
/// observed.
fn is_common_by(
    password: &str,
    local_part: Option<&str>,
    estimator: impl FnOnce(&str, &[&str]) -> zxcvbn::Entropy,
) -> bool {
    use zxcvbn::feedback::Warning;
    let inputs: Vec<&str> = local_part.into_iter().collect();
    let estimate = estimator(estimated_prefix(password), &inputs);
    u8::from(estimate.score()) <= 1
        || estimate
            .feedback()
            .and_then(|f| f.warning())
            .is_some_and(|w| {
                matches!(
                    w,
                    Warning::ThisIsATop10Password
                        | Warning::ThisIsATop100Password
                        | Warning::ThisIsACommonPassword
                        | Warning::ThisIsSimilarToACommonlyUsedPassword
                )
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pw: &str, email: Option<&str>) -> Vec<PolicyRule> {
        PasswordPolicy::default()
            .check(&NewPassword::normalize(pw), email)
            .into_iter()
            .map(|v| v.rule)
            .collect()
    }

    #[test]
    fn strong_password_passes() {
        assert!(rules("Tr0ub4dor&3-horse-staple", Some("ada@example.com")).is_empty());
    }

    #[test]
    fn each_rule_is_named() {
        assert!(rules("aB1!", None).contains(&PolicyRule::MinLength));
        assert!(rules(&"aB1!".repeat(40), None).contains(&PolicyRule::MaxLength));
        assert!(rules("lowercaseonlyletters", None).contains(&PolicyRule::CharacterClasses));
        assert!(rules("Password1", None).contains(&PolicyRule::Common));
        assert!(
            rules("Zq8!adalovelace", Some("adalovelace@example.com"))
                .contains(&PolicyRule::ContainsEmail)
        );
        let weak = rules("password", None);
        assert!(weak.contains(&PolicyRule::CharacterClasses) && weak.contains(&PolicyRule::Common));
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(rules("Fresh\u{0}Horse-42-Battery", None).contains(&PolicyRule::ControlCharacters));
        assert!(rules("Fresh\tHorse-42-Battery", None).contains(&PolicyRule::ControlCharacters));
        assert!(!rules("Fresh Horse-42-Battery", None).contains(&PolicyRule::ControlCharacters));
    }

    #[test]
    fn nfkc_normalises_before_checking() {
        // Full-width digits and letters normalise to ASCII.
        let p = NewPassword::normalize("Ｔｒ０ｕｂ");
        assert_eq!(p.expose(), "Tr0ub");
    }

    #[test]
    fn oversized_input_is_refused_without_further_work() {
        let v = PasswordPolicy::default().check(&NewPassword::normalize(&"x".repeat(10_000)), None);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule, PolicyRule::MaxLength);
    }

    #[test]
    fn the_strength_estimate_sees_at_most_the_first_100_characters() {
        // The longest password the configuration allows, of multi-byte
        // characters so that a byte-based cut would show.
        let long = "é".repeat(40) + &"Zq8!".repeat(240);
        let mut fed = 0;
        is_common_by(&long, Some("ada"), |pw, inputs| {
            fed = pw.chars().count();
            zxcvbn::zxcvbn(pw, inputs)
        });
        assert_eq!(fed, ESTIMATED_PREFIX);
        let mut fed = String::new();
        is_common_by("short-Password-1", None, |pw, inputs| {
            fed = pw.to_string();
            zxcvbn::zxcvbn(pw, inputs)
        });
        assert_eq!(fed, "short-Password-1");
    }

    #[test]
    fn the_other_rules_see_the_whole_password() {
        let policy = PasswordPolicy {
            max_length: ABSOLUTE_MAX_LENGTH,
            ..PasswordPolicy::default()
        };
        let tail = |t: &str| NewPassword::normalize(&("Tr0ub4dor&3-horse-".repeat(10) + t));
        let rules = |pw: &NewPassword, email| {
            policy
                .check(pw, email)
                .into_iter()
                .map(|v| v.rule)
                .collect::<Vec<_>>()
        };
        assert!(tail("").char_count() > ESTIMATED_PREFIX);
        assert!(rules(&tail(""), Some("ada@example.com")).is_empty());
        assert_eq!(
            rules(&tail("adalovelace"), Some("adalovelace@example.com")),
            [PolicyRule::ContainsEmail]
        );
        assert_eq!(rules(&tail("\u{7}"), None), [PolicyRule::ControlCharacters]);
    }
}
