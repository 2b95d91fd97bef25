//! Password comparisons whose work does not depend on the account or on
//! its hash scheme, so a sign-in's timing tells nothing about the address
//! and a crafted password cannot multiply its cost.
//!
//! Every comparison (a known account, an unknown or disabled one through
//! the dummy) runs the same three slots: one argon2 at the current
//! parameters, PBKDF2-SHA256 for exactly `REKEY_LEGACY_PBKDF2_ITERATIONS`
//! iterations, and bcrypt work of exactly 2^`REKEY_LEGACY_BCRYPT_COST`
//! rounds. A slot with a real hash to check computes it and pads the rest
//! with work of the same primitive on the same input; a slot without one
//! pads all of it. The budgets are 0 (no legacy slot) until the operator
//! imports such hashes, and an import refuses a hash above them. Imported
//! hashes are compared with what the user typed, once (the systems they
//! come from did not normalise), argon2 with the NFKC form rekey hashes.

use super::hash::{CredentialHasher, HashParams, HashScheme, Verification};

/// The legacy work every comparison does (the operator's budgets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegacyBudget {
    /// PBKDF2-SHA256 iterations (one 32-byte block); 0: none.
    pub pbkdf2_iterations: u32,
    /// bcrypt cost (4 to 13); 0: none.
    pub bcrypt_cost: u32,
}

impl LegacyBudget {
    /// Above Django 5.2's 1 000 000: larger budgets cost every sign-in.
    pub const MAX_PBKDF2_ITERATIONS: u32 = 1_200_000;
    pub const MAX_BCRYPT_COST: u32 = 13;

    /// Whether an import may store `stored` (a well-formed hash): its work
    /// must fit the budgets, and argon2 must use the current parameters,
    /// or sign-in would tell the account apart. The error names the fix.
    pub fn admits(&self, stored: &str, current: &HashParams) -> Result<(), String> {
        match HashScheme::of(stored) {
            Some(HashScheme::Argon2id | HashScheme::Argon2i) => {
                let params = super::hash::argon2_params(stored);
                if params == Some(*current) {
                    return Ok(());
                }
                Err(format!(
                    "password_hash: argon2 parameters other than the current ones \
                     (REKEY_ARGON2_MEMORY_KIB={}, REKEY_ARGON2_ITERATIONS={}, REKEY_ARGON2_PARALLELISM={}); \
                     sign-in would tell these accounts apart by timing: set those to the hashes' parameters \
                     (on the functions too) or import without password_hash",
                    current.memory_kib, current.iterations, current.parallelism
                ))
            }
            Some(HashScheme::Bcrypt) => {
                let cost = stored
                    .parse::<bcrypt::HashParts>()
                    .map(|p| p.get_cost())
                    .unwrap_or(u32::MAX);
                if cost <= self.bcrypt_cost {
                    return Ok(());
                }
                Err(format!(
                    "password_hash: bcrypt cost {cost} is above REKEY_LEGACY_BCRYPT_COST={}: \
                     set it to {cost} or more (at most {}; on the functions too, in Settings), \
                     and every sign-in then does that much bcrypt work",
                    self.bcrypt_cost,
                    Self::MAX_BCRYPT_COST
                ))
            }
            Some(HashScheme::Pbkdf2Sha256) => {
                let (iterations, _, key) =
                    super::hash::parse_django_pbkdf2(stored).ok_or("password_hash is malformed")?;
                if key.len() != 32 {
                    return Err(format!(
                        "password_hash: a pbkdf2_sha256 hash of {} bytes; only Django's 32 are imported",
                        key.len()
                    ));
                }
                if iterations <= self.pbkdf2_iterations {
                    return Ok(());
                }
                Err(format!(
                    "password_hash: pbkdf2_sha256 at {iterations} iterations is above \
                     REKEY_LEGACY_PBKDF2_ITERATIONS={}: set it to {iterations} or more (at most {}; \
                     on the functions too, in Settings), and every sign-in then does that many",
                    self.pbkdf2_iterations,
                    Self::MAX_PBKDF2_ITERATIONS
                ))
            }
            None => Err("password_hash is not a supported hash".into()),
        }
    }
}

/// What one comparison computed, counted where each primitive runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerificationWork {
    /// argon2 evaluations, and the parameters of the last.
    pub argon2: u32,
    pub argon2_params: Option<HashParams>,
    pub pbkdf2_iterations: u64,
    /// bcrypt's expensive key setup rounds: 2^cost per evaluation.
    pub bcrypt_rounds: u64,
}

/// A fixed salt for padding work: its output is thrown away.
const PAD_SALT: &[u8] = b"rekey-legacy-pad";

impl CredentialHasher {
    /// Compares `password` with `stored` (None: the dummy, for an unknown
    /// or disabled account) doing the same work whatever the hash.
    pub fn verify_uniform(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> (Verification, VerificationWork) {
        let mut work = VerificationWork::default();
        let scheme = stored.and_then(HashScheme::of);
        let stored = stored.unwrap_or_default();
        let argon2 = match scheme {
            Some(HashScheme::Argon2id | HashScheme::Argon2i) => {
                work.argon2_params = super::hash::argon2_params(stored);
                self.verify_argon2(password, stored)
            }
            _ => {
                work.argon2_params = Some(self.params());
                let verdict = self.verify_argon2(password, self.dummy_hash());
                debug_assert_eq!(verdict, Verification::Mismatch);
                Verification::Mismatch
            }
        };
        work.argon2 = 1;
        let pbkdf2 = self.pbkdf2_slot(password, stored, scheme, &mut work);
        let bcrypt = self.bcrypt_slot(password, stored, scheme, &mut work);
        let verdict = if pbkdf2 || bcrypt {
            Verification::Match { needs_rehash: true }
        } else {
            argon2
        };
        (verdict, work)
    }

    fn pbkdf2_slot(
        &self,
        password: &str,
        stored: &str,
        scheme: Option<HashScheme>,
        work: &mut VerificationWork,
    ) -> bool {
        let budget = self.legacy().pbkdf2_iterations;
        let real = (scheme == Some(HashScheme::Pbkdf2Sha256))
            .then(|| super::hash::parse_django_pbkdf2(stored))
            .flatten()
            .filter(|(n, _, key)| *n <= budget && key.len() == 32);
        let (matched, done) = match real {
            Some((n, salt, expected)) => {
                let derived = pbkdf2(password, salt.as_bytes(), n);
                work.pbkdf2_iterations += u64::from(n);
                (
                    bool::from(subtle::ConstantTimeEq::ct_eq(&derived[..], &expected[..])),
                    n,
                )
            }
            None => (false, 0),
        };
        if budget > done {
            pbkdf2(password, PAD_SALT, budget - done);
            work.pbkdf2_iterations += u64::from(budget - done);
        }
        matched
    }

    fn bcrypt_slot(
        &self,
        password: &str,
        stored: &str,
        scheme: Option<HashScheme>,
        work: &mut VerificationWork,
    ) -> bool {
        let budget = self.legacy().bcrypt_cost;
        if budget == 0 {
            return false;
        }
        let real_cost = (scheme == Some(HashScheme::Bcrypt))
            .then(|| stored.parse::<bcrypt::HashParts>().ok())
            .flatten()
            .map(|p| p.get_cost())
            .filter(|c| (4..=budget).contains(c));
        let pad = |cost: u32, work: &mut VerificationWork| {
            let _ = bcrypt::hash_with_salt(password, cost, [0u8; 16]);
            work.bcrypt_rounds += 1 << cost;
        };
        match real_cost {
            Some(cost) => {
                let matched = bcrypt::verify(password, stored).unwrap_or(false);
                work.bcrypt_rounds += 1 << cost;
                // 2^c + 2^c + 2^(c+1) + ... + 2^(budget-1) = 2^budget.
                for k in cost..budget {
                    pad(k, work);
                }
                matched
            }
            None => {
                pad(budget, work);
                false
            }
        }
    }
}

fn pbkdf2(password: &str, salt: &[u8], iterations: u32) -> zeroize::Zeroizing<[u8; 32]> {
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, iterations, &mut *out);
    out
}

#[cfg(test)]
#[path = "uniform_tests.rs"]
mod tests;
