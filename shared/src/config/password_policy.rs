//! The argon2id cost, read for the password module. (The password
//! profiles, the blocklists and the range check are read by
//! `password::PasswordPolicies::read` through this module's `EnvReader`.)

use super::EnvReader;
use crate::password::HashParams;

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
