//! `REKEY_SETTINGS`: the operator settings template.yaml has no named
//! parameter for, as one JSON object of variable name -> value (its
//! `Settings` parameter), e.g. `{"REKEY_PASSWORD_HISTORY": 5,
//! "REKEY_LIMIT_EMAIL_PER_MINUTE": 2}`. Every variable reader sees them as
//! if they were variables (`EnvReader::optional`); a malformed object, an
//! unknown name, a value that is not a string, number or boolean, and a
//! name also set as a variable are each reported at init, with the rest.

use std::collections::BTreeMap;

/// The variable that carries the settings.
pub const VARIABLE: &str = "REKEY_SETTINGS";

/// Variables rekey no longer honours and reads only to refuse at init
/// with the reason (the template sets none of them).
pub const RETIRED: &[&str] = &["REKEY_PASSWORD_MIN_CLASSES"];

/// The variables `REKEY_SETTINGS` may set: every operator setting the code
/// reads that template.yaml does not set by a named parameter (the template
/// test checks both halves).
pub const NAMES: &[&str] = &[
    "REKEY_ARGON2_ITERATIONS",
    "REKEY_ARGON2_MEMORY_KIB",
    "REKEY_ARGON2_PARALLELISM",
    "REKEY_AUDIT_RETENTION_DAYS",
    "REKEY_CODE_LENGTH",
    "REKEY_DEFAULT_ORG",
    "REKEY_LEGACY_BCRYPT_COST",
    "REKEY_LEGACY_PBKDF2_ITERATIONS",
    "REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR",
    "REKEY_LIMIT_EMAIL_PER_MINUTE",
    "REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR",
    "REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR",
    "REKEY_LIMIT_SMS_PER_NUMBER_PER_HOUR",
    "REKEY_LIMIT_SMS_PER_NUMBER_PER_MINUTE",
    "REKEY_OAUTH_CLIENT_FIRST_PARTY",
    "REKEY_OAUTH_CLIENT_ID",
    "REKEY_OAUTH_SCOPE",
    "REKEY_PASSWORD_BLOCKLIST_BUNDLED",
    "REKEY_PASSWORD_BLOCKLIST_FILE",
    "REKEY_PASSWORD_CONTEXT_WORDS",
    "REKEY_PASSWORD_HISTORY",
    "REKEY_PASSWORD_MAX_LENGTH",
    "REKEY_PASSWORD_REJECT_COMMON",
    "REKEY_PASSWORD_REJECT_CONTEXT",
    "REKEY_PASSWORD_REJECT_EMAIL",
    "REKEY_PASSWORD_REJECT_GUESSABLE",
    "REKEY_PASSWORD_SECOND_FACTOR",
    "REKEY_PWNED_PASSWORDS",
    "REKEY_PWNED_PASSWORDS_MIN_COUNT",
    "REKEY_PWNED_PASSWORDS_ON_ERROR",
    "REKEY_PWNED_PASSWORDS_TIMEOUT_MS",
    "REKEY_PWNED_PASSWORDS_URL",
    "REKEY_RECOVERY_PASSWORD_MAX_LENGTH",
    "REKEY_RECOVERY_PASSWORD_MIN_CLASSES",
    "REKEY_RECOVERY_PASSWORD_MIN_LENGTH",
    "REKEY_SIGNED_LINK_MAX_SKEW_SECONDS",
    "REKEY_TEMPLATE_DIR",
    "REKEY_TOKEN_AUDIENCE",
    "REKEY_WEBHOOK_RETRY_DELAYS",
];

/// The settings in `raw`, and each problem with them. `variable` tells
/// whether a name is also set as a variable of its own.
pub fn parse(
    raw: Option<&str>,
    variable: impl Fn(&str) -> bool,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut settings = BTreeMap::new();
    let mut problems = Vec::new();
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return (settings, problems);
    };
    let object = match serde_json::from_str::<BTreeMap<String, serde_json::Value>>(raw) {
        Ok(object) => object,
        Err(e) => {
            problems.push(format!(
                "{VARIABLE} is not a JSON object of variable name -> value: {e}"
            ));
            return (settings, problems);
        }
    };
    for (name, value) in object {
        if !NAMES.contains(&name.as_str()) {
            problems.push(format!(
                "{VARIABLE}: {name} is not a setting it can carry (it can: {})",
                NAMES.join(", ")
            ));
            continue;
        }
        let value = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            other => {
                problems.push(format!(
                    "{VARIABLE}: {name} must be a string, a number or a boolean, not {other}"
                ));
                continue;
            }
        };
        if variable(&name) {
            problems.push(format!(
                "{name} is set both as a variable and in {VARIABLE}: keep one"
            ));
            continue;
        }
        settings.insert(name, value);
    }
    (settings, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_as_variables_and_every_problem_is_named() {
        let (s, problems) = parse(
            Some(
                r#"{"REKEY_PASSWORD_HISTORY": 5, "REKEY_PASSWORD_REJECT_COMMON": false, "REKEY_DEFAULT_ORG": "acme"}"#,
            ),
            |_| false,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s["REKEY_PASSWORD_HISTORY"], "5");
        assert_eq!(s["REKEY_PASSWORD_REJECT_COMMON"], "false");
        assert_eq!(s["REKEY_DEFAULT_ORG"], "acme");

        let (s, problems) = parse(
            Some(
                r#"{"REKEY_SECRET": "x", "REKEY_PASSWORD_HISTORY": [1], "REKEY_CODE_LENGTH": 8, "REKEY_DEFAULT_ORG": "a"}"#,
            ),
            |name| name == "REKEY_DEFAULT_ORG",
        );
        assert_eq!(s.keys().collect::<Vec<_>>(), ["REKEY_CODE_LENGTH"]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("REKEY_DEFAULT_ORG is set both"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("REKEY_PASSWORD_HISTORY must be"),
            "{problems:?}"
        );
        assert!(
            problems[2].contains("REKEY_SECRET is not a setting"),
            "{problems:?}"
        );

        let (_, problems) = parse(Some("[1, 2]"), |_| false);
        assert!(problems[0].starts_with("REKEY_SETTINGS is not a JSON object"));
        assert_eq!(parse(Some("  "), |_| false), (BTreeMap::new(), vec![]));
        assert_eq!(parse(None, |_| false), (BTreeMap::new(), vec![]));
    }
}
