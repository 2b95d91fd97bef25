//! argon2id hashing, and verification of the hashes imported from other
//! systems.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::NewPassword;

/// argon2id cost parameters (OWASP: m = 19 MiB, t = 2, p = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    /// The argon2 parameters; an error for values argon2 refuses (the
    /// configuration checks them at start).
    pub(crate) fn params(&self) -> Result<Params, argon2::Error> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Parameters that argon2 refuses (configuration checks them first).
    #[error("argon2id parameters are not valid")]
    Params(#[source] argon2::Error),
    #[error("password hashing failed")]
    Hashing(#[source] argon2::password_hash::Error),
    /// The blocking task that hashes did not finish (it panicked).
    #[error("the hashing task did not finish")]
    Task(#[source] tokio::task::JoinError),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// Matches; `needs_rehash` when the stored hash uses other parameters.
    Match {
        needs_rehash: bool,
    },
}

/// argon2id in PHC string format. Hashing is CPU-bound: the async wrappers run
/// it on the blocking pool so the executor keeps serving other requests.
#[derive(Clone, Debug)]
pub struct CredentialHasher {
    params: HashParams,
    legacy: super::LegacyBudget,
    /// A hash of nothing anyone knows, at the current parameters, made on
    /// first use: what a comparison without an account checks against.
    dummy: std::sync::Arc<std::sync::OnceLock<String>>,
}

impl CredentialHasher {
    /// No legacy budgets: imported bcrypt and PBKDF2 hashes never match.
    pub fn new(params: HashParams) -> Self {
        Self::with_legacy(params, super::LegacyBudget::default())
    }

    pub fn with_legacy(params: HashParams, legacy: super::LegacyBudget) -> Self {
        Self {
            params,
            legacy,
            dummy: Default::default(),
        }
    }

    pub fn params(&self) -> HashParams {
        self.params
    }

    pub fn legacy(&self) -> super::LegacyBudget {
        self.legacy
    }

    pub(super) fn dummy_hash(&self) -> &str {
        self.dummy.get_or_init(|| {
            let unguessable = crate::crypto::BearerSecret::generate("dummy_");
            self.hash(&NewPassword::normalize(unguessable.expose()))
                .unwrap_or_default()
        })
    }

    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let params = self.params.params().map_err(HashError::Params)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    pub fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        self.argon2()?
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(HashError::Hashing)
    }

    /// Verifies `password` against a stored hash: argon2id/argon2i (PHC),
    /// or one imported from elsewhere (bcrypt `$2a$`/`$2b$`/`$2y$`, Django
    /// `pbkdf2_sha256$...`). `needs_rehash` for anything but argon2id with
    /// the current parameters.
    pub fn verify(&self, password: &str, stored: &str) -> Verification {
        match HashScheme::of(stored) {
            Some(HashScheme::Argon2id | HashScheme::Argon2i) => {
                self.verify_argon2(password, stored)
            }
            Some(scheme @ (HashScheme::Bcrypt | HashScheme::Pbkdf2Sha256)) => {
                // Other systems hashed what the user typed, unnormalised:
                // one evaluation, whatever NFKC would make of it.
                let matched = match scheme {
                    HashScheme::Bcrypt => bcrypt::verify(password, stored).unwrap_or(false),
                    _ => verify_django_pbkdf2(password, stored),
                };
                if matched {
                    Verification::Match { needs_rehash: true }
                } else {
                    Verification::Mismatch
                }
            }
            None => Verification::Mismatch,
        }
    }

    pub(super) fn verify_argon2(&self, password: &str, phc: &str) -> Verification {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return Verification::Mismatch;
        };
        let normalized = NewPassword::normalize(password);
        // Verification uses the parameters recorded in the hash itself.
        if Argon2::default()
            .verify_password(normalized.expose().as_bytes(), &parsed)
            .is_err()
        {
            return Verification::Mismatch;
        }
        let current = Params::try_from(&parsed).ok();
        let needs_rehash = parsed.algorithm.as_str() != "argon2id"
            || current.is_none_or(|p| {
                p.m_cost() != self.params.memory_kib
                    || p.t_cost() != self.params.iterations
                    || p.p_cost() != self.params.parallelism
            });
        Verification::Match { needs_rehash }
    }

    pub async fn hash_off_executor(&self, password: NewPassword) -> Result<String, HashError> {
        let hasher = self.clone();
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(HashError::Task)?
    }

    /// True when `password` matches any of `hashes` (password history).
    pub async fn matches_any_off_executor(
        &self,
        password: &NewPassword,
        hashes: Vec<String>,
    ) -> bool {
        if hashes.is_empty() {
            return false;
        }
        let hasher = self.clone();
        let pw = password.expose().to_string();
        let pw = zeroize::Zeroizing::new(pw);
        tokio::task::spawn_blocking(move || {
            hashes
                .iter()
                .any(|h| matches!(hasher.verify(&pw, h), Verification::Match { .. }))
        })
        .await
        .unwrap_or(false)
    }
}

/// The scheme of a stored password hash: what rekey writes (argon2id) and
/// what `rekeyctl user import` accepts from other systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashScheme {
    Argon2id,
    Argon2i,
    /// `$2a$`, `$2b$`, `$2y$`
    Bcrypt,
    /// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`
    Pbkdf2Sha256,
}

/// Django hashes above this many iterations are refused at import: verifying
/// one would cost seconds of CPU (Django 5 uses about 10^6).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

impl HashScheme {
    /// The scheme a stored hash names by its prefix (not yet validated).
    pub fn of(stored: &str) -> Option<Self> {
        if stored.starts_with("$argon2id$") {
            Some(Self::Argon2id)
        } else if stored.starts_with("$argon2i$") {
            Some(Self::Argon2i)
        } else if ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|p| stored.starts_with(p))
        {
            Some(Self::Bcrypt)
        } else if stored.starts_with("pbkdf2_sha256$") {
            Some(Self::Pbkdf2Sha256)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Argon2id => "argon2id",
            Self::Argon2i => "argon2i",
            Self::Bcrypt => "bcrypt",
            Self::Pbkdf2Sha256 => "pbkdf2_sha256",
        }
    }

    /// Checks that `stored` is a well-formed hash of a supported scheme.
    /// The error says what is wrong, never quoting the hash.
    pub fn validate(stored: &str) -> Result<Self, HashProblem> {
        let scheme = Self::of(stored).ok_or(HashProblem::Unsupported)?;
        let ok = match scheme {
            Self::Argon2id | Self::Argon2i => PasswordHash::new(stored)
                .ok()
                .filter(|h| h.hash.is_some() && h.salt.is_some())
                .is_some_and(|h| Params::try_from(&h).is_ok()),
            Self::Bcrypt => stored.parse::<bcrypt::HashParts>().is_ok() && stored.len() == 60,
            Self::Pbkdf2Sha256 => parse_django_pbkdf2(stored).is_some(),
        };
        if ok {
            Ok(scheme)
        } else {
            Err(HashProblem::Malformed(scheme))
        }
    }
}

/// The parameters an argon2 PHC string records.
pub(super) fn argon2_params(phc: &str) -> Option<HashParams> {
    let parsed = PasswordHash::new(phc).ok()?;
    let p = Params::try_from(&parsed).ok()?;
    Some(HashParams {
        memory_kib: p.m_cost(),
        iterations: p.t_cost(),
        parallelism: p.p_cost(),
    })
}

/// Why a stored hash cannot be imported: said without quoting it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashProblem {
    #[error(
        "password_hash is not a supported hash: expected argon2 ($argon2id$, $argon2i$), \
         bcrypt ($2a$, $2b$, $2y$) or Django pbkdf2_sha256$..."
    )]
    Unsupported,
    #[error("password_hash is a malformed {} hash", .0.name())]
    Malformed(HashScheme),
}

/// (iterations, salt, expected derived key) of a Django pbkdf2_sha256 hash.
pub(super) fn parse_django_pbkdf2(stored: &str) -> Option<(u32, &str, Vec<u8>)> {
    use base64::Engine;
    let mut parts = stored.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let iterations: u32 = iterations.parse().ok()?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(hash)
        .ok()?;
    let ok = (1..=MAX_PBKDF2_ITERATIONS).contains(&iterations)
        && !salt.is_empty()
        && (16..=64).contains(&expected.len());
    ok.then_some((iterations, salt, expected))
}

fn verify_django_pbkdf2(password: &str, stored: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Some((iterations, salt, expected)) = parse_django_pbkdf2(stored) else {
        return false;
    };
    let mut derived = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut derived,
    );
    derived.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verify_and_rehash_detection() {
        let cheap = HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let h = CredentialHasher::new(cheap);
        let phc = h.hash(&NewPassword::normalize("Correct-Horse-9")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(
            h.verify("Correct-Horse-9", &phc),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(h.verify("correct-horse-9", &phc), Verification::Mismatch);
        let stronger = CredentialHasher::new(HashParams {
            memory_kib: 128,
            ..cheap
        });
        assert_eq!(
            stronger.verify("Correct-Horse-9", &phc),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(h.verify("x", "not a hash"), Verification::Mismatch);
    }

    #[test]
    fn imported_schemes_verify_and_always_need_a_rehash() {
        let cheap = HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let h = CredentialHasher::new(cheap);
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, cheap.params().unwrap())
            .hash_password(
                b"Imported-1",
                &SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap(),
            )
            .unwrap()
            .to_string();
        let bcrypt = bcrypt::hash("Imported-1", 4).unwrap();
        let django = {
            use base64::Engine;
            let mut out = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"Imported-1", b"salt", 10, &mut out);
            format!(
                "pbkdf2_sha256$10$salt${}",
                base64::engine::general_purpose::STANDARD.encode(out)
            )
        };
        for (scheme, hash) in [
            ("argon2i", &argon2i),
            ("bcrypt", &bcrypt),
            ("pbkdf2_sha256", &django),
        ] {
            assert_eq!(HashScheme::validate(hash).map(HashScheme::name), Ok(scheme));
            assert_eq!(
                h.verify("Imported-1", hash),
                Verification::Match { needs_rehash: true },
                "{scheme}"
            );
            assert_eq!(
                h.verify("Imported-2", hash),
                Verification::Mismatch,
                "{scheme}"
            );
        }
        for bad in [
            "$argon2id$v=19$m=64",
            "$2b$04$short",
            "pbkdf2_sha256$0$salt$aGFzaGhhc2hoYXNoaGFzaA==",
            "pbkdf2_sha256$99999999999$salt$aGFzaGhhc2hoYXNoaGFzaA==",
            "pbkdf2_sha256$10$$aGFzaGhhc2hoYXNoaGFzaA==",
            "pbkdf2_sha256$10$salt$not base64",
            "sha1$abc$def",
        ] {
            assert!(HashScheme::validate(bad).is_err(), "{bad}");
            assert_eq!(h.verify("x", bad), Verification::Mismatch);
        }
    }
}
