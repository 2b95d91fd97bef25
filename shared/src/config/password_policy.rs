//! The argon2id cost, read for the password module. (The password
//! profiles, the blocklists and the range check are read by
//! `password::PasswordPolicies::read` through this module's `EnvReader`.)

use super::EnvReader;
use crate::password::{HashParams, LegacyBudget};

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

/// `REKEY_LEGACY_PBKDF2_ITERATIONS` and `REKEY_LEGACY_BCRYPT_COST`: the
/// legacy work every password comparison does (password::uniform).
pub(super) fn read_legacy_budget(env: &mut EnvReader<'_>) -> LegacyBudget {
    let budget = LegacyBudget {
        pbkdf2_iterations: env.parsed("REKEY_LEGACY_PBKDF2_ITERATIONS", 0, "a whole number"),
        bcrypt_cost: env.parsed("REKEY_LEGACY_BCRYPT_COST", 0, "a whole number"),
    };
    if budget.pbkdf2_iterations > LegacyBudget::MAX_PBKDF2_ITERATIONS {
        env.problems.push(format!(
            "REKEY_LEGACY_PBKDF2_ITERATIONS must be 0 to {}: every sign-in pays it",
            LegacyBudget::MAX_PBKDF2_ITERATIONS
        ));
    }
    if budget.bcrypt_cost != 0 && !(4..=LegacyBudget::MAX_BCRYPT_COST).contains(&budget.bcrypt_cost)
    {
        env.problems.push(format!(
            "REKEY_LEGACY_BCRYPT_COST must be 0 or 4 to {}: every sign-in pays 2^cost rounds",
            LegacyBudget::MAX_BCRYPT_COST
        ));
    }
    budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_budgets_are_read_and_bounded() {
        let read = |pbkdf2: &str, bcrypt: &str| {
            let (pbkdf2, bcrypt) = (pbkdf2.to_string(), bcrypt.to_string());
            let mut env = EnvReader::new(move |k| match k {
                "REKEY_LEGACY_PBKDF2_ITERATIONS" => Some(pbkdf2.clone()),
                "REKEY_LEGACY_BCRYPT_COST" => Some(bcrypt.clone()),
                _ => None,
            });
            (read_legacy_budget(&mut env), env.problems)
        };
        let (budget, problems) = read("870000", "12");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            budget,
            LegacyBudget {
                pbkdf2_iterations: 870_000,
                bcrypt_cost: 12
            }
        );
        assert_eq!(read("10000000", "0").1.len(), 1);
        assert_eq!(read("0", "14").1.len(), 1);
        assert_eq!(read("0", "3").1.len(), 1);
    }
}
