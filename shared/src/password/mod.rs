//! The password policy, profile by profile (every failed rule is named),
//! the blocklist, the bounded strength estimate, the optional Pwned
//! Passwords range check, and argon2id hashing (`hash`).
//!
//! Profiles: every contract applies NIST SP 800-63B rev. 4
//! (`Profile::Nist`: length, blocklist, context words, no composition
//! rules) except account recovery, whose published document states its
//! own rule (`Profile::AccountRecovery`: 8 to 128 characters, 3 of 4
//! classes); both refuse listed, guessable and context passwords.

pub mod blocklist;
mod estimate;
mod hash;
mod policy;
pub mod pwned;
mod uniform;

pub use estimate::{GUESSABLE_BELOW_BITS, log2_guesses, unleet_str};
pub use hash::{
    CredentialHasher, HashError, HashParams, HashProblem, HashScheme, MAX_PBKDF2_ITERATIONS,
    Verification,
};
pub use policy::{PasswordContext, PasswordPolicies, PasswordPolicy, Screen};
pub use uniform::{LegacyBudget, VerificationWork};

use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;

/// A rule of the password policy; its name is what clients see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyRule {
    MinLength,
    MaxLength,
    CharacterClasses,
    /// On the blocklist (bundled or the operator's), also read as l33t.
    Common,
    /// The estimate found it made of guessable patterns.
    Guessable,
    /// In the Pwned Passwords corpus (the optional range check).
    Compromised,
    ContainsEmail,
    /// The product's name, the user's name or an operator's word.
    ContextWords,
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
            Self::Guessable => "guessable",
            Self::Compromised => "compromised",
            Self::ContainsEmail => "contains_email",
            Self::ContextWords => "context_words",
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

/// Which set of rules a password was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// NIST SP 800-63B rev. 4: every contract but account recovery, and
    /// validate-password.
    Nist,
    /// Seed 004's stated rule: `POST /api/v2/account/reset/`.
    AccountRecovery,
}

impl Profile {
    /// The name responses and logs use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nist => "nist-800-63b-rev4",
            Self::AccountRecovery => "account-recovery",
        }
    }
}

/// Hard ceiling on any configured maximum: bounds the cost of the checks
/// and of hashing whatever the configuration says.
pub const ABSOLUTE_MAX_LENGTH: usize = 1024;

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

#[cfg(test)]
mod tests;
