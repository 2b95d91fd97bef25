//! The service secret (and, during a rotation, the previous one), and the
//! product name mail is signed with.

use super::EnvReader;
use crate::crypto::{ServiceKeys, ServiceSecret};

/// `REKEY_SECRET` and, during a rotation, `REKEY_SECRET_PREVIOUS`.
pub fn read_keys(env: &mut EnvReader<'_>) -> Option<ServiceKeys> {
    let secret = |name: &str, env: &mut EnvReader<'_>, raw: String| match ServiceSecret::parse(&raw)
    {
        Ok(s) => Some(s),
        Err(e) => {
            env.problems.push(format!("{name} is not valid: {e}"));
            None
        }
    };
    let current = env
        .required(
            "REKEY_SECRET",
            "the service secret (32+ random bytes, base64 or hex; e.g. `openssl rand -base64 32`)",
        )
        .and_then(|raw| secret("REKEY_SECRET", env, raw));
    let previous = env
        .optional("REKEY_SECRET_PREVIOUS")
        .and_then(|raw| secret("REKEY_SECRET_PREVIOUS", env, raw));
    Some(ServiceKeys::new(current?, previous))
}

/// The product name shown in mail (`REKEY_PRODUCT_NAME`, default "rekey").
pub fn read_product_name(env: &EnvReader<'_>) -> String {
    env.optional("REKEY_PRODUCT_NAME")
        .unwrap_or_else(|| "rekey".to_string())
}
