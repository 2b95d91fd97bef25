//! The password policy and the argon2id cost, read for the password
//! module (which reads no environment itself).

use super::EnvReader;
use crate::password::{ABSOLUTE_MAX_LENGTH, HashParams, PasswordPolicy};

/// The `REKEY_PASSWORD_*` rules, each problem recorded.
pub(super) fn read_policy(env: &mut EnvReader<'_>) -> PasswordPolicy {
    let d = PasswordPolicy::default();
    let p = PasswordPolicy {
        min_length: env.parsed("REKEY_PASSWORD_MIN_LENGTH", d.min_length, "a whole number"),
        max_length: env.parsed("REKEY_PASSWORD_MAX_LENGTH", d.max_length, "a whole number"),
        min_classes: env.parsed("REKEY_PASSWORD_MIN_CLASSES", d.min_classes, "0 to 4"),
        reject_common: env.parsed(
            "REKEY_PASSWORD_REJECT_COMMON",
            d.reject_common,
            "true or false",
        ),
        reject_email: env.parsed(
            "REKEY_PASSWORD_REJECT_EMAIL",
            d.reject_email,
            "true or false",
        ),
        history: env.parsed("REKEY_PASSWORD_HISTORY", d.history, "a whole number"),
    };
    if p.min_length == 0 || p.min_length > p.max_length || p.max_length > ABSOLUTE_MAX_LENGTH {
        env.problems.push(format!(
            "password lengths {}..{} are not valid: need 1 <= REKEY_PASSWORD_MIN_LENGTH <= REKEY_PASSWORD_MAX_LENGTH <= {ABSOLUTE_MAX_LENGTH}",
            p.min_length, p.max_length
        ));
    }
    if p.min_classes > 4 {
        env.problems
            .push("REKEY_PASSWORD_MIN_CLASSES must be 0 to 4".to_string());
    }
    if p.history > 24 {
        env.problems
            .push("REKEY_PASSWORD_HISTORY must be 0 to 24".to_string());
    }
    p
}

/// `REKEY_ARGON2_*`: argon2id's memory, passes and lanes.
pub(super) fn read_hash_params(env: &mut EnvReader<'_>) -> HashParams {
    let d = HashParams::default();
    let p = HashParams {
        memory_kib: env.parsed(
            "REKEY_ARGON2_MEMORY_KIB",
            d.memory_kib,
            "KiB as a whole number",
        ),
        iterations: env.parsed("REKEY_ARGON2_ITERATIONS", d.iterations, "a whole number"),
        parallelism: env.parsed("REKEY_ARGON2_PARALLELISM", d.parallelism, "a whole number"),
    };
    if p.params().is_err() {
        env.problems.push(format!(
            "argon2 parameters m={} KiB, t={}, p={} are not valid (m >= 8*p, t >= 1, p >= 1)",
            p.memory_kib, p.iterations, p.parallelism
        ));
    }
    p
}
