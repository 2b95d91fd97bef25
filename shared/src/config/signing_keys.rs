//! The access-token signing keys in KMS: the current one, and during a
//! rotation the next (published before it signs) and the previous
//! (published until its tokens expire).

use super::EnvReader;

/// The variable naming the signing key (a KMS key; rekeyctl serve makes a
/// local one instead).
pub const SIGNING_KEY_VAR: &str = "REKEY_SIGNING_KEY";
/// A key published before it signs.
pub const SIGNING_KEY_NEXT_VAR: &str = "REKEY_SIGNING_KEY_NEXT";
/// The key that signed before the last rotation, published until its
/// tokens expire.
pub const SIGNING_KEY_PREVIOUS_VAR: &str = "REKEY_SIGNING_KEY_PREVIOUS";

/// KMS key ids, ARNs or aliases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeys {
    pub current: String,
    pub next: Option<String>,
    pub previous: Option<String>,
}

impl SigningKeys {
    /// None when `REKEY_SIGNING_KEY` is not set: the function signs and
    /// publishes nothing (reset-account then answers 503, the JWKS too).
    pub fn read(env: &mut EnvReader<'_>) -> Option<Self> {
        Some(Self {
            current: env.optional(SIGNING_KEY_VAR)?,
            next: env.optional(SIGNING_KEY_NEXT_VAR),
            previous: env.optional(SIGNING_KEY_PREVIOUS_VAR),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_of_a_rotation_come_from_the_environment() {
        let vars = [
            (SIGNING_KEY_VAR, "arn:aws:kms:us-east-1:1:key/a"),
            (SIGNING_KEY_PREVIOUS_VAR, "arn:aws:kms:us-east-1:1:key/b"),
        ];
        let mut env = EnvReader::new(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        let keys = SigningKeys::read(&mut env).unwrap();
        assert_eq!(keys.current, "arn:aws:kms:us-east-1:1:key/a");
        assert_eq!(keys.next, None);
        assert_eq!(
            keys.previous.as_deref(),
            Some("arn:aws:kms:us-east-1:1:key/b")
        );
        let mut unset = EnvReader::new(|_| None);
        assert!(
            SigningKeys::read(&mut unset).is_none(),
            "no key, no key set"
        );
    }
}
