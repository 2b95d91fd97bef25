//! The rules of each profile, read from the environment, and the check
//! that names every rule a password fails.

use std::path::PathBuf;
use std::sync::Arc;

use super::blocklist::{self, Blocklist, fold};
use super::estimate::{GUESSABLE_BELOW_BITS, log2_guesses, unleet_str};
use super::pwned::PwnedCheck;
use super::{ABSOLUTE_MAX_LENGTH, NewPassword, PolicyRule, PolicyViolation, Profile};
use crate::config::EnvReader;

/// How much of the user's name is looked for in a password.
const NAME_CHARS: usize = 128;

/// One profile's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub profile: Profile,
    pub min_length: usize,
    pub max_length: usize,
    /// Of lower, upper, digit, other; 0 (NIST: no composition rules).
    pub min_classes: usize,
    /// The blocklist.
    pub reject_common: bool,
    /// The strength estimate's patterns.
    pub reject_guessable: bool,
    /// The address's local part, the user's name, the product's name.
    pub reject_context: bool,
}

impl PasswordPolicy {
    /// NIST SP 800-63B rev. 4 for a password that is the only factor.
    pub fn nist() -> Self {
        Self {
            profile: Profile::Nist,
            min_length: 15,
            max_length: 128,
            min_classes: 0,
            reject_common: true,
            reject_guessable: true,
            reject_context: true,
        }
    }

    /// Seed 004: "at least 8 characters (max 128) and at least 3 of the
    /// following 4 types"; the blocklist and the context words on top.
    pub fn account_recovery() -> Self {
        Self {
            profile: Profile::AccountRecovery,
            min_length: 8,
            max_length: 128,
            min_classes: 3,
            ..Self::nist()
        }
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self::nist()
    }
}

/// Who the password is for: what it must not contain.
#[derive(Clone, Copy, Debug, Default)]
pub struct PasswordContext<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// The lists a password is compared with, shared by every profile.
#[derive(Clone, Debug)]
pub struct Screen {
    /// Checked in order; the bundled list first unless replaced.
    pub lists: Vec<Arc<Blocklist>>,
    pub bundled: bool,
    /// Folded, at least 4 characters: the product's name and the operator's.
    pub context_words: Vec<String>,
}

impl Screen {
    /// The bundled list and `product`'s name.
    pub fn bundled(product: &str) -> Self {
        Self {
            lists: Vec::new(),
            bundled: true,
            context_words: context_words([product]),
        }
    }

    fn listed(&self, text: &str) -> bool {
        let key = blocklist::format::key_of(text.as_bytes());
        (self.bundled && Blocklist::bundled().contains_key(key))
            || self.lists.iter().any(|l| l.contains_key(key))
    }

    /// On a list, as typed (SHA-1 lists hash passwords as typed), folded,
    /// or folded with l33t undone in either reading.
    fn common(&self, password: &str, folded: &str) -> bool {
        self.listed(password)
            || self.listed(folded)
            || [false, true].iter().any(|&second| {
                let plain = unleet_str(folded, second);
                plain != folded && self.listed(&plain)
            })
    }

    /// What the estimate pays for a listed word: the bundled list's first
    /// 10 000 are cheaper than the rest.
    #[cfg(test)]
    pub(crate) fn word_bits_for_tests(&self, word: &str) -> Option<f64> {
        self.word_bits(word)
    }

    fn word_bits(&self, word: &str) -> Option<f64> {
        let key = blocklist::format::key_of(word.as_bytes());
        if self.bundled && Blocklist::bundled_head().contains_key(key) {
            Some((blocklist::BUNDLED_HEAD_ENTRIES as f64).log2())
        } else if (self.bundled && Blocklist::bundled().contains_key(key))
            || self.lists.iter().any(|l| l.contains_key(key))
        {
            Some((blocklist::BUNDLED_ENTRIES as f64).log2())
        } else {
            None
        }
    }
}

fn context_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    words
        .into_iter()
        .flat_map(|w| {
            let whole = fold(w.trim());
            let parts: Vec<String> = whole
                .split(|c: char| !c.is_alphanumeric())
                .map(str::to_string)
                .collect();
            std::iter::once(whole).chain(parts)
        })
        .filter(|w| w.chars().count() >= 4)
        .collect()
}

/// Every profile, and what they share.
#[derive(Clone, Debug)]
pub struct PasswordPolicies {
    pub default: PasswordPolicy,
    pub account_recovery: PasswordPolicy,
    /// Reject the last N passwords (0: off).
    pub history: usize,
    pub screen: Screen,
    pub pwned: Option<PwnedCheck>,
}

impl PasswordPolicies {
    pub fn new(product: &str) -> Self {
        Self {
            default: PasswordPolicy::nist(),
            account_recovery: PasswordPolicy::account_recovery(),
            history: 0,
            screen: Screen::bundled(product),
            pwned: None,
        }
    }

    pub fn profile(&self, profile: Profile) -> &PasswordPolicy {
        match profile {
            Profile::Nist => &self.default,
            Profile::AccountRecovery => &self.account_recovery,
        }
    }

    /// Checks every rule that needs neither a stored hash nor the network.
    pub fn check(
        &self,
        profile: Profile,
        password: &NewPassword,
        who: PasswordContext<'_>,
    ) -> Vec<PolicyViolation> {
        self.profile(profile).check(&self.screen, password, who)
    }

    pub fn read(env: &mut EnvReader<'_>, product: &str) -> Self {
        let mut p = Self::new(product);
        let second_factor = env.parsed("REKEY_PASSWORD_SECOND_FACTOR", false, "true or false");
        let d = &mut p.default;
        d.min_length = env.parsed("REKEY_PASSWORD_MIN_LENGTH", d.min_length, "a whole number");
        d.max_length = env.parsed("REKEY_PASSWORD_MAX_LENGTH", d.max_length, "a whole number");
        let floor = if second_factor { 8 } else { 15 };
        if d.min_length < floor
            || d.min_length > d.max_length
            || !(64..=ABSOLUTE_MAX_LENGTH).contains(&d.max_length)
        {
            env.problems.push(format!(
                "password lengths {}..{} are not valid: NIST SP 800-63B rev. 4 needs {floor} <= REKEY_PASSWORD_MIN_LENGTH <= REKEY_PASSWORD_MAX_LENGTH and 64 <= REKEY_PASSWORD_MAX_LENGTH <= {ABSOLUTE_MAX_LENGTH}{}",
                d.min_length,
                d.max_length,
                if second_factor { "" } else { " (a minimum down to 8 needs REKEY_PASSWORD_SECOND_FACTOR=true: only where every sign-in also takes a second factor)" }
            ));
        }
        if env.optional("REKEY_PASSWORD_MIN_CLASSES").is_some() {
            env.problems.push("REKEY_PASSWORD_MIN_CLASSES is no longer read: NIST SP 800-63B rev. 4 forbids composition rules; the account-recovery contract keeps its own (REKEY_RECOVERY_PASSWORD_MIN_CLASSES)".into());
        }
        let r = &mut p.account_recovery;
        r.min_length = env.parsed(
            "REKEY_RECOVERY_PASSWORD_MIN_LENGTH",
            r.min_length,
            "a whole number",
        );
        r.max_length = env.parsed(
            "REKEY_RECOVERY_PASSWORD_MAX_LENGTH",
            r.max_length,
            "a whole number",
        );
        r.min_classes = env.parsed(
            "REKEY_RECOVERY_PASSWORD_MIN_CLASSES",
            r.min_classes,
            "0 to 4",
        );
        if r.min_length == 0
            || r.min_length > r.max_length
            || r.max_length > ABSOLUTE_MAX_LENGTH
            || r.min_classes > 4
        {
            env.problems.push(format!(
                "account-recovery password rule {}..{}, {} classes is not valid: need 1 <= REKEY_RECOVERY_PASSWORD_MIN_LENGTH <= _MAX_LENGTH <= {ABSOLUTE_MAX_LENGTH} and _MIN_CLASSES 0 to 4",
                r.min_length, r.max_length, r.min_classes
            ));
        }
        let common = env.parsed("REKEY_PASSWORD_REJECT_COMMON", true, "true or false");
        let guessable = env.parsed("REKEY_PASSWORD_REJECT_GUESSABLE", true, "true or false");
        // REKEY_PASSWORD_REJECT_EMAIL is the variable's earlier name.
        let email = env.parsed("REKEY_PASSWORD_REJECT_EMAIL", true, "true or false");
        let context = env.parsed("REKEY_PASSWORD_REJECT_CONTEXT", email, "true or false");
        for policy in [&mut p.default, &mut p.account_recovery] {
            policy.reject_common = common;
            policy.reject_guessable = guessable;
            policy.reject_context = context;
        }
        p.history = env.parsed("REKEY_PASSWORD_HISTORY", 0, "a whole number");
        if p.history > 24 {
            env.problems
                .push("REKEY_PASSWORD_HISTORY must be 0 to 24".to_string());
        }
        let words = env
            .optional("REKEY_PASSWORD_CONTEXT_WORDS")
            .unwrap_or_default();
        p.screen
            .context_words
            .extend(context_words(words.split(',')));
        p.screen.bundled = env.parsed("REKEY_PASSWORD_BLOCKLIST_BUNDLED", true, "true or false");
        match env.optional("REKEY_PASSWORD_BLOCKLIST_FILE") {
            Some(path) => match Blocklist::load(&PathBuf::from(&path)) {
                Ok(list) => p.screen.lists.push(Arc::new(list)),
                Err(e) => env.problems.push(format!(
                    "REKEY_PASSWORD_BLOCKLIST_FILE: {e} (build the file with `rekeyctl password blocklist build`)"
                )),
            },
            None if !p.screen.bundled => env.problems.push(
                "REKEY_PASSWORD_BLOCKLIST_BUNDLED=false needs REKEY_PASSWORD_BLOCKLIST_FILE: the list that replaces it".into(),
            ),
            None => {}
        }
        p.pwned = PwnedCheck::read(env);
        p
    }
}

impl PasswordPolicy {
    /// Checks every rule that needs no stored hash; returns each failure.
    pub fn check(
        &self,
        screen: &Screen,
        password: &NewPassword,
        who: PasswordContext<'_>,
    ) -> Vec<PolicyViolation> {
        let mut failed = Vec::new();
        let mut fail = |rule, message: String| failed.push(PolicyViolation { rule, message });
        let pw = password.expose();
        let len = password.char_count();
        if len < self.min_length {
            fail(
                PolicyRule::MinLength,
                format!("must be at least {} characters long", self.min_length),
            );
        }
        if len > self.max_length {
            fail(
                PolicyRule::MaxLength,
                format!("must be at most {} characters long", self.max_length),
            );
            // Nothing more is computed on an oversized input.
            return failed;
        }
        // NUL and other control characters: invisible, untypeable on most
        // keyboards, and a classic way to truncate a value in C libraries.
        if pw.chars().any(char::is_control) {
            fail(
                PolicyRule::ControlCharacters,
                "must not contain control characters".into(),
            );
        }
        if self.min_classes > 0 {
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
                fail(
                    PolicyRule::CharacterClasses,
                    format!(
                        "must contain at least {} of: lower-case letters, upper-case letters, digits, other characters",
                        self.min_classes
                    ),
                );
            }
        }
        if pw.is_empty() {
            return failed;
        }
        let folded = fold(pw);
        let readings = [
            folded.clone(),
            unleet_str(&folded, false),
            unleet_str(&folded, true),
        ];
        let contains = |word: &str| readings.iter().any(|r| r.contains(word));
        if self.reject_context {
            let local = who
                .email
                .and_then(|e| e.rsplit_once('@'))
                .map(|(l, _)| fold(l));
            let local_words = local.iter().flat_map(|l| {
                let parts = l
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|p| p.chars().count() >= 4);
                std::iter::once(l.as_str())
                    .filter(|l| l.chars().count() >= 3)
                    .chain(parts)
            });
            if local_words.clone().any(contains) {
                fail(
                    PolicyRule::ContainsEmail,
                    "must not contain the account's email address".into(),
                );
            }
            // A name is the user's own data, of any length: only its start
            // is compared, so the check stays bounded by the password's length.
            let name_words = who
                .name
                .map(|n| {
                    context_words([n.char_indices().nth(NAME_CHARS).map_or(n, |(i, _)| &n[..i])])
                })
                .unwrap_or_default();
            if screen
                .context_words
                .iter()
                .chain(&name_words)
                .any(|w| contains(w))
            {
                fail(
                    PolicyRule::ContextWords,
                    "must not contain the service's name or the user's name".into(),
                );
            }
        }
        let listed = self.reject_common && screen.common(pw, &folded);
        if listed {
            fail(PolicyRule::Common, "is a commonly used password".into());
        }
        // A listed password is guessable too; the list says it better.
        if self.reject_guessable
            && !listed
            && log2_guesses(&folded, &|w| screen.word_bits(w)) < GUESSABLE_BELOW_BITS
        {
            fail(
                PolicyRule::Guessable,
                "is too easy to guess: a keyboard pattern, sequence, repetition, date or common word".into(),
            );
        }
        failed
    }
}
