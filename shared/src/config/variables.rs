//! Every environment variable rekey reads, in one list: the table in
//! docs/operations.md ("Configuration (environment)") documents exactly
//! these (a test compares the two), [`super::EnvReader`] refuses (in debug
//! builds) to read a name that is not here, and a test checks that every
//! variable named in the code is listed.

/// Who reads a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// Every HTTP function that builds the reset service (and rekeyctl).
    Service,
    /// One function or a few, named in the docs table.
    Functions,
    /// rekeyctl only.
    Rekeyctl,
    /// Set by Lambda or the AWS tooling, read as they define it.
    Platform,
}

/// One variable: its name and who reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub reader: Reader,
}

const fn var(name: &'static str, reader: Reader) -> Variable {
    Variable { name, reader }
}

use Reader::{Functions, Platform, Rekeyctl, Service};

pub const VARIABLES: &[Variable] = &[
    // The settings template.yaml has no named parameter for, as one JSON
    // object (config::settings)
    var("REKEY_SETTINGS", Service),
    // The service secret
    var("REKEY_SECRET", Service),
    var("REKEY_SECRET_PREVIOUS", Service),
    // ... or, deployed, the secrets' ARNs, read at init (config::stored_secrets)
    var("REKEY_SECRET_ID", Service),
    var("REKEY_SECRET_ROTATION", Service),
    var("REKEY_EDGE_SECRET_ID", Service),
    var("REKEY_WEBHOOK_SECRETS_ID", Functions),
    // Links
    var("REKEY_RESET_URL", Service),
    var("REKEY_RECOVER_URL", Service),
    var("REKEY_SIGNED_RESET_URL", Service),
    var("REKEY_CODE_URL", Service),
    var("REKEY_RESET_URLS_BY_ENTRY", Service),
    var("REKEY_ALLOWED_LINK_ORIGINS", Service),
    var("REKEY_CONTINUE_URL", Service),
    var("REKEY_DEFAULT_ORG", Service),
    // Mail
    var("REKEY_PRODUCT_NAME", Service),
    var("REKEY_MAIL_FROM", Functions),
    var("REKEY_TEMPLATE_DIR", Functions),
    // Lifetimes and policies
    var("REKEY_TOKEN_TTL_SECONDS", Service),
    var("REKEY_CODE_LENGTH", Service),
    var("REKEY_CODE_TTL_SECONDS", Service),
    var("REKEY_CODE_MAX_ATTEMPTS", Service),
    var("REKEY_SIGNED_LINK_TTL_SECONDS", Service),
    var("REKEY_SIGNED_LINK_MAX_SKEW_SECONDS", Service),
    var("REKEY_PASSWORD_MIN_LENGTH", Service),
    var("REKEY_PASSWORD_MAX_LENGTH", Service),
    var("REKEY_PASSWORD_SECOND_FACTOR", Service),
    var("REKEY_RECOVERY_PASSWORD_MIN_LENGTH", Service),
    var("REKEY_RECOVERY_PASSWORD_MAX_LENGTH", Service),
    var("REKEY_RECOVERY_PASSWORD_MIN_CLASSES", Service),
    // Retired: read only to refuse it at start (config::settings::RETIRED).
    var("REKEY_PASSWORD_MIN_CLASSES", Service),
    var("REKEY_PASSWORD_REJECT_COMMON", Service),
    var("REKEY_PASSWORD_REJECT_GUESSABLE", Service),
    var("REKEY_PASSWORD_REJECT_CONTEXT", Service),
    var("REKEY_PASSWORD_REJECT_EMAIL", Service),
    var("REKEY_PASSWORD_CONTEXT_WORDS", Service),
    var("REKEY_PASSWORD_BLOCKLIST_FILE", Service),
    var("REKEY_PASSWORD_BLOCKLIST_BUNDLED", Service),
    var("REKEY_PWNED_PASSWORDS", Service),
    var("REKEY_PWNED_PASSWORDS_URL", Service),
    var("REKEY_PWNED_PASSWORDS_TIMEOUT_MS", Service),
    var("REKEY_PWNED_PASSWORDS_ON_ERROR", Service),
    var("REKEY_PWNED_PASSWORDS_MIN_COUNT", Service),
    var("REKEY_PASSWORD_HISTORY", Service),
    var("REKEY_ARGON2_MEMORY_KIB", Service),
    var("REKEY_ARGON2_ITERATIONS", Service),
    var("REKEY_ARGON2_PARALLELISM", Service),
    var("REKEY_LEGACY_PBKDF2_ITERATIONS", Service),
    var("REKEY_LEGACY_BCRYPT_COST", Service),
    // Limits and audit
    var("REKEY_LIMIT_EMAIL_PER_MINUTE", Service),
    var("REKEY_LIMIT_EMAIL_PER_HOUR", Service),
    var("REKEY_LIMIT_SOURCE_PER_MINUTE", Service),
    var("REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR", Service),
    var("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", Service),
    var("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", Service),
    var("REKEY_AUDIT_RETENTION_DAYS", Service),
    // Reset codes by text message
    var("REKEY_SMS_COUNTRY_CALLING_CODES", Service),
    var("REKEY_LIMIT_SMS_PER_NUMBER_PER_MINUTE", Service),
    var("REKEY_LIMIT_SMS_PER_NUMBER_PER_HOUR", Service),
    var("REKEY_LIMIT_SMS_PER_HOUR", Service),
    var("REKEY_SMS_SENDER_ID", Functions),
    var("REKEY_SMS_ORIGINATION_NUMBER", Functions),
    var("REKEY_EDGE_SECRET", Service),
    // Sign-in and access tokens
    var("REKEY_TOKEN_ISSUER", Service),
    var("REKEY_TOKEN_AUDIENCE", Service),
    var("REKEY_OAUTH_CLIENT_ID", Service),
    var("REKEY_OAUTH_CLIENT_FIRST_PARTY", Service),
    var("REKEY_OAUTH_SCOPE", Service),
    var("REKEY_ACCESS_TOKEN_TTL_SECONDS", Service),
    var("REKEY_REFRESH_TOKEN_TTL_SECONDS", Service),
    var("REKEY_OAUTH_CLIENTS", Service),
    var("REKEY_SIGNING_KEY", Functions),
    var("REKEY_SIGNING_KEY_NEXT", Functions),
    var("REKEY_SIGNING_KEY_PREVIOUS", Functions),
    // Where accounts live
    var("REKEY_DIRECTORY", Service),
    var("REKEY_COGNITO_USER_POOL_ID", Service),
    var("REKEY_COGNITO_CLIENT_ID", Service),
    // Webhooks
    var("REKEY_WEBHOOKS", Service),
    var("REKEY_WEBHOOK_SECRETS", Functions),
    var("REKEY_WEBHOOK_RETRY_DELAYS", Functions),
    var("REKEY_WEBHOOK_RETRY_QUEUE_URL", Functions),
    var("REKEY_WEBHOOK_DEAD_LETTER_URL", Functions),
    // The table
    var("REKEY_TABLE", Functions),
    // rekeyctl
    var("REKEY_DATA_DIR", Rekeyctl),
    var("REKEY_WEBHOOK_SECRET", Rekeyctl),
    // Lambda and the AWS SDK's own variables, read as they define them
    var("AWS_REGION", Platform),
    var("AWS_DEFAULT_REGION", Platform),
    var("AWS_ENDPOINT_URL", Platform),
    var("AWS_ENDPOINT_URL_DYNAMODB", Platform),
    var("AWS_ENDPOINT_URL_SESV2", Platform),
    var("AWS_ENDPOINT_URL_KMS", Platform),
    var("AWS_ENDPOINT_URL_SQS", Platform),
    var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", Platform),
    var("AWS_ENDPOINT_URL_SECRETS_MANAGER", Platform),
    var("AWS_LAMBDA_FUNCTION_NAME", Platform),
    var("AWS_LAMBDA_LOG_FORMAT", Platform),
    var("AWS_LAMBDA_LOG_LEVEL", Platform),
    var("RUST_LOG", Platform),
];

/// Whether `name` is one of [`VARIABLES`].
pub fn is_documented(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::VARIABLES;

    fn root() -> &'static Path {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The production sources: the common crate, rekeyctl, the functions.
    fn sources() -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        rust_files(&root().join("shared/src"), &mut files);
        rust_files(&root().join("cli/src"), &mut files);
        // Each function's crate (functions/ also holds their shared build script).
        for function in std::fs::read_dir(root().join("functions")).unwrap() {
            let src = function.unwrap().path().join("src");
            if src.is_dir() {
                rust_files(&src, &mut files);
            }
        }
        files
    }

    /// Every string literal `"REKEY_..."` (a whole variable name).
    fn named_in(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for (at, _) in text.match_indices("\"REKEY_") {
            let rest = &text[at + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            if rest[end..].starts_with('"') && end > "REKEY_".len() {
                found.insert(rest[..end].to_string());
            }
        }
        found
    }

    #[test]
    fn each_variable_is_listed_once() {
        let names: BTreeSet<_> = VARIABLES.iter().map(|v| v.name).collect();
        assert_eq!(names.len(), VARIABLES.len());
    }

    /// The list is the code's: every variable a source names is on it, and
    /// every `REKEY_` variable on it is named by a source.
    #[test]
    fn the_list_is_what_the_code_reads() {
        let mut named = BTreeSet::new();
        for file in sources() {
            named.extend(named_in(&std::fs::read_to_string(&file).unwrap()));
        }
        let listed: BTreeSet<String> = VARIABLES
            .iter()
            .filter(|v| v.name.starts_with("REKEY_"))
            .map(|v| v.name.to_string())
            .collect();
        assert_eq!(
            named, listed,
            "config::variables::VARIABLES and the variables the code names disagree"
        );
    }

    /// Only the config module reads the environment (build scripts are
    /// cargo's, not rekey's).
    #[test]
    fn nothing_outside_config_reads_the_environment() {
        let config = root().join("shared/src/config");
        for file in sources() {
            if file.starts_with(&config) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for needle in ["env::var(", "env::var_os(", "env::vars(", "env::vars_os("] {
                assert!(
                    !text.contains(needle),
                    "{} reads the environment ({needle}); read it in shared/src/config",
                    file.display()
                );
            }
        }
    }

    /// The table in docs/operations.md lists exactly these variables, one a
    /// row.
    #[test]
    fn the_operations_table_documents_every_variable() {
        let doc = std::fs::read_to_string(root().join("docs/operations.md")).unwrap();
        let section = doc
            .split("## Configuration (environment)")
            .nth(1)
            .expect("docs/operations.md has a Configuration (environment) section");
        // The section's first table, up to the next heading.
        let section = section.split("\n#").next().unwrap_or(section);
        let documented: BTreeSet<&str> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        let listed: BTreeSet<&str> = VARIABLES.iter().map(|v| v.name).collect();
        assert_eq!(
            documented, listed,
            "docs/operations.md's configuration table and config::variables::VARIABLES disagree"
        );
    }
}
