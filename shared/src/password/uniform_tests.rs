//! The work of a comparison, counted, for every scheme rekey accepts.
//! Counting what ran (not wall time) keeps these exact on a loaded
//! machine; scripts/bench measures the time.

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Version};

use super::*;
use crate::password::NewPassword;

const CHEAP: HashParams = HashParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};
const BUDGET: LegacyBudget = LegacyBudget {
    pbkdf2_iterations: 2000,
    bcrypt_cost: 5,
};

fn django(password: &str, iterations: u32) -> String {
    use base64::Engine;
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), b"salt", iterations, &mut out);
    format!(
        "pbkdf2_sha256${iterations}$salt${}",
        base64::engine::general_purpose::STANDARD.encode(out)
    )
}

fn argon2(algorithm: Algorithm, params: HashParams, password: &str) -> String {
    let p = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .unwrap();
    Argon2::new(algorithm, Version::V0x13, p)
        .hash_password(
            NewPassword::normalize(password).expose().as_bytes(),
            &SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap(),
        )
        .unwrap()
        .to_string()
}

/// Every hash an import admits under BUDGET, for `password`.
fn admitted_hashes(password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("argon2id", argon2(Algorithm::Argon2id, CHEAP, password)),
        ("argon2i", argon2(Algorithm::Argon2i, CHEAP, password)),
        ("bcrypt cost 4", bcrypt::hash(password, 4).unwrap()),
        ("bcrypt cost 5", bcrypt::hash(password, 5).unwrap()),
        ("pbkdf2 1000", django(password, 1000)),
        ("pbkdf2 2000", django(password, 2000)),
    ]
}

/// The same work for no account, a wrong password and the right one, in
/// every scheme, and for a password NFKC changes (U+FB01): one argon2 at
/// the current parameters, the PBKDF2 budget, 2^cost bcrypt rounds.
#[test]
fn every_comparison_does_the_same_work_whatever_the_account_and_scheme() {
    let h = CredentialHasher::with_legacy(CHEAP, BUDGET);
    let expected = VerificationWork {
        argon2: 1,
        argon2_params: Some(CHEAP),
        pbkdf2_iterations: 2000,
        bcrypt_rounds: 1 << 5,
    };
    for password in ["Imported-Pass-9!x", "Imported-\u{FB01}le-9!x"] {
        let (verdict, work) = h.verify_uniform(password, None);
        assert_eq!(verdict, Verification::Mismatch);
        assert_eq!(work, expected, "no account");
        for (scheme, hash) in admitted_hashes(password) {
            assert_eq!(BUDGET.admits(&hash, &CHEAP), Ok(()), "{scheme}");
            let (verdict, work) = h.verify_uniform(password, Some(&hash));
            assert!(
                matches!(verdict, Verification::Match { .. }),
                "{scheme}: {password}"
            );
            assert_eq!(work, expected, "{scheme}: the right password");
            let (verdict, work) = h.verify_uniform("Wrong-Pass-1", Some(&hash));
            assert_eq!(verdict, Verification::Mismatch, "{scheme}");
            assert_eq!(work, expected, "{scheme}: a wrong password");
        }
    }
}

/// Imported hashes are what the user typed: the NFKC form is not tried
/// (it would be a second evaluation), argon2 compares the NFKC form.
#[test]
fn legacy_hashes_compare_the_typed_password_once() {
    let h = CredentialHasher::with_legacy(CHEAP, BUDGET);
    let typed = "Imported-\u{FB01}le-9!x";
    let folded = NewPassword::normalize(typed);
    assert_ne!(folded.expose(), typed);
    for hash in [
        bcrypt::hash(folded.expose(), 4).unwrap(),
        django(folded.expose(), 1000),
    ] {
        assert_eq!(
            h.verify_uniform(typed, Some(&hash)).0,
            Verification::Mismatch
        );
        assert!(matches!(
            h.verify_uniform(folded.expose(), Some(&hash)).0,
            Verification::Match { needs_rehash: true }
        ));
    }
    let native = argon2(Algorithm::Argon2id, CHEAP, typed);
    assert_eq!(
        h.verify_uniform(folded.expose(), Some(&native)).0,
        Verification::Match {
            needs_rehash: false
        }
    );
}

/// Above the budgets nothing is computed beyond them (and nothing
/// matches); an import refuses such hashes, argon2 at other parameters
/// and PBKDF2 keys other than Django's 32 bytes, naming the setting.
#[test]
fn imports_and_comparisons_are_capped_by_the_budgets() {
    let h = CredentialHasher::with_legacy(CHEAP, BUDGET);
    let password = "Imported-Pass-9!x";
    let over = [
        (
            "bcrypt cost 6",
            bcrypt::hash(password, 6).unwrap(),
            "REKEY_LEGACY_BCRYPT_COST",
        ),
        (
            "pbkdf2 3000",
            django(password, 3000),
            "REKEY_LEGACY_PBKDF2_ITERATIONS",
        ),
    ];
    for (scheme, hash, setting) in &over {
        let (verdict, work) = h.verify_uniform(password, Some(hash));
        assert_eq!(verdict, Verification::Mismatch, "{scheme}");
        assert_eq!(work.pbkdf2_iterations, 2000, "{scheme}");
        assert_eq!(work.bcrypt_rounds, 1 << 5, "{scheme}");
        let refusal = BUDGET.admits(hash, &CHEAP).unwrap_err();
        assert!(refusal.contains(setting), "{refusal}");
    }
    let other_params = argon2(
        Algorithm::Argon2id,
        HashParams {
            memory_kib: 128,
            ..CHEAP
        },
        password,
    );
    assert!(
        BUDGET
            .admits(&other_params, &CHEAP)
            .unwrap_err()
            .contains("REKEY_ARGON2_MEMORY_KIB")
    );
    let long_key = {
        use base64::Engine;
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), b"salt", 10, &mut out);
        format!(
            "pbkdf2_sha256$10$salt${}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    };
    assert!(BUDGET.admits(&long_key, &CHEAP).is_err());
    // No budget: no legacy work, and legacy hashes are refused.
    let none = LegacyBudget::default();
    assert!(
        none.admits(&bcrypt::hash(password, 4).unwrap(), &CHEAP)
            .is_err()
    );
    assert!(none.admits(&django(password, 1000), &CHEAP).is_err());
    let (_, work) = CredentialHasher::new(CHEAP).verify_uniform(password, None);
    assert_eq!((work.pbkdf2_iterations, work.bcrypt_rounds), (0, 0));
}
