//! Link tokens, digests, keyed digests and AEAD sealing.
//!
//! Every key is derived from the one service secret by purpose, so one
//! rotation rotates them all, and a leak of one derived key says nothing
//! about the others.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of link tokens: recognisable in a leaked paste, easy to scan for.
pub const LINK_TOKEN_PREFIX: &str = "rkt_";
/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "rkk_";
/// Prefix of refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "rkr_";

/// A short code of `len` characters from A-Z and 0-9, uniform: bytes of 252
/// and above are redrawn, so no symbol is likelier (252 = 7 * 36).
pub fn short_code(len: usize) -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut code = String::with_capacity(len);
    while code.len() < len {
        let batch = random_bytes::<32>();
        for &b in batch.iter().filter(|&&b| b < 252) {
            if code.len() == len {
                break;
            }
            code.push(ALPHABET[(b % 36) as usize] as char);
        }
    }
    code
}
const RANDOM_BYTES: usize = 32;

/// `N` bytes from the OS CSPRNG. Without one no token, key or nonce can
/// be made safely, so its failure is the one panic here: the request fails
/// (500) rather than being answered with something weaker.
#[expect(
    clippy::expect_used,
    reason = "no secret may be made without the OS CSPRNG"
)]
pub(crate) fn random_bytes<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut buf = Zeroizing::new([0u8; N]);
    getrandom::getrandom(buf.as_mut()).expect("the OS CSPRNG is unavailable");
    buf
}

/// HMAC-SHA256 keyed with `key`. HMAC takes a key of any length (longer
/// ones are hashed, shorter ones padded), so `new_from_slice` cannot fail.
#[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
pub(crate) fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// A bearer secret of 256 random bits with a prefix (link token or API key).
/// Shown once, never stored: the store keeps its `SecretDigest`.
pub struct BearerSecret(SecretString);

impl BearerSecret {
    pub fn generate(prefix: &str) -> Self {
        let bytes = random_bytes::<RANDOM_BYTES>();
        Self(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes.as_ref())).into())
    }

    /// Accepts only well-formed secrets with the given prefix; anything else
    /// cannot match a stored digest and is treated as unknown.
    pub fn parse(prefix: &str, raw: &str) -> Option<Self> {
        let body = raw.strip_prefix(prefix)?;
        let decoded = URL_SAFE_NO_PAD.decode(body).ok()?;
        (decoded.len() == RANDOM_BYTES).then(|| Self(raw.to_string().into()))
    }

    /// A bearer secret another issuer made (a Cognito pool's refresh
    /// token): kept as opaque as rekey's own.
    pub fn issued_elsewhere(secret: SecretString) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(self.expose())
    }
}

impl std::fmt::Debug for BearerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerSecret(<redacted>)")
    }
}

/// SHA-256 of a bearer secret, hex encoded: what the store keys on.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct SecretDigest(String);

impl SecretDigest {
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a service secret is refused; never quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("expected base64 or hex")]
    NotEncoded,
    #[error("{0} bytes is too short: use at least 32 random bytes")]
    TooShort(usize),
}

/// The service secret an operator provides (REKEY_SECRET).
#[derive(Clone)]
pub struct ServiceSecret(std::sync::Arc<SecretBox<Vec<u8>>>);

impl ServiceSecret {
    /// Base64 (standard or url-safe) or hex, at least 32 bytes.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let raw = raw.trim();
        let bytes = hex::decode(raw)
            .ok()
            .or_else(|| STANDARD.decode(raw).ok())
            .or_else(|| URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')).ok())
            .ok_or(SecretError::NotEncoded)?;
        if bytes.len() < 32 {
            return Err(SecretError::TooShort(bytes.len()));
        }
        Ok(Self(std::sync::Arc::new(SecretBox::new(Box::new(bytes)))))
    }

    pub fn generate() -> (Self, String) {
        let bytes = random_bytes::<32>();
        let encoded = STANDARD.encode(bytes.as_ref());
        let secret = Self(std::sync::Arc::new(SecretBox::new(Box::new(
            bytes.to_vec(),
        ))));
        (secret, encoded)
    }

    fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = hmac_sha256(self.0.expose_secret());
        mac.update(b"rekey/v1/");
        mac.update(purpose.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for ServiceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceSecret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed with a key that is neither the current nor the previous secret")]
    UnknownKey,
    #[error("sealed value failed authentication")]
    Forged,
}

/// The current service secret and, during a rotation, the previous one.
/// Seals and signs with the current; opens and verifies with either.
#[derive(Clone, Debug)]
pub struct ServiceKeys {
    current: ServiceSecret,
    previous: Option<ServiceSecret>,
}

const SEAL_PURPOSE: &str = "outbox-seal";
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;

impl ServiceKeys {
    pub fn new(current: ServiceSecret, previous: Option<ServiceSecret>) -> Self {
        Self { current, previous }
    }

    fn secrets(&self) -> impl Iterator<Item = &ServiceSecret> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    /// Short public id of a secret, so an opener picks the right key.
    fn key_id(secret: &ServiceSecret) -> [u8; KEY_ID_LEN] {
        let d = secret.derive("key-id");
        [d[0], d[1], d[2], d[3]]
    }

    /// XChaCha20-Poly1305 with a random nonce; `aad` binds the ciphertext
    /// to its record so it cannot be moved to another. Encryption fails only
    /// for a message over 256 GiB, which no caller holds in memory.
    #[expect(
        clippy::expect_used,
        reason = "XChaCha20-Poly1305 fails only past 2^38 bytes of plaintext"
    )]
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let key = self.current.derive(SEAL_PURPOSE);
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        let nonce = random_bytes::<NONCE_LEN>();
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(nonce.as_ref()),
                chacha20poly1305::aead::Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("encryption of an in-memory buffer does not fail");
        let mut out = Vec::with_capacity(KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&Self::key_id(&self.current));
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&ciphertext);
        URL_SAFE_NO_PAD.encode(out)
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let raw = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| SealError::Malformed)?;
        if raw.len() < KEY_ID_LEN + NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (id, rest) = raw.split_at(KEY_ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let secret = self
            .secrets()
            .find(|s| Self::key_id(s) == id)
            .ok_or(SealError::UnknownKey)?;
        let key = secret.derive(SEAL_PURPOSE);
        XChaCha20Poly1305::new(key.as_ref().into())
            .decrypt(
                XNonce::from_slice(nonce),
                chacha20poly1305::aead::Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Forged)
    }

    /// HMAC-SHA256 under the current secret's key for `purpose`.
    pub fn sign(&self, purpose: &str, parts: &[&[u8]]) -> Vec<u8> {
        Self::mac(&self.current, purpose, parts)
    }

    /// Constant-time check against the current and the previous secret.
    pub fn verify(&self, purpose: &str, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.secrets()
            .map(|s| bool::from(Self::mac(s, purpose, parts).ct_eq(tag)))
            .fold(false, |acc, ok| acc | ok)
    }

    fn mac(secret: &ServiceSecret, purpose: &str, parts: &[&[u8]]) -> Vec<u8> {
        let key = secret.derive(purpose);
        let mut mac = hmac_sha256(key.as_ref());
        for part in parts {
            // Length-prefixed so ("ab","c") and ("a","bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// A stable, non-reversible reference to an email address for log lines:
    /// correlates requests without writing the address.
    pub fn log_ref(&self, value: &str) -> String {
        Self::log_ref_under(&self.current, value)
    }

    /// `value`'s reference under each configured secret, current first:
    /// what a counter keyed by reference is counted under, so that a
    /// rotation does not start its windows afresh.
    pub fn log_refs(&self, value: &str) -> Vec<String> {
        self.secrets()
            .map(|s| Self::log_ref_under(s, value))
            .collect()
    }

    fn log_ref_under(secret: &ServiceSecret, value: &str) -> String {
        hex::encode(&Self::mac(secret, "log-ref", &[value.as_bytes()])[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ServiceKeys {
        ServiceKeys::new(ServiceSecret::generate().0, None)
    }

    #[test]
    fn tokens_are_prefixed_random_and_parse_back() {
        let a = BearerSecret::generate(LINK_TOKEN_PREFIX);
        let b = BearerSecret::generate(LINK_TOKEN_PREFIX);
        assert!(a.expose().starts_with("rkt_"));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 4 + 43);
        let parsed = BearerSecret::parse(LINK_TOKEN_PREFIX, a.expose()).unwrap();
        assert_eq!(parsed.digest(), a.digest());
        assert!(BearerSecret::parse(API_KEY_PREFIX, a.expose()).is_none());
        assert!(BearerSecret::parse(LINK_TOKEN_PREFIX, "rkt_short").is_none());
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            SecretDigest::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn seal_round_trips_and_rejects_tampering_and_other_records() {
        let k = keys();
        let sealed = k.seal(b"hello", b"OUTBOX#1");
        assert_eq!(&k.open(&sealed, b"OUTBOX#1").unwrap()[..], b"hello");
        assert_eq!(k.open(&sealed, b"OUTBOX#2"), Err(SealError::Forged));
        let mut raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(
            k.open(&URL_SAFE_NO_PAD.encode(raw), b"OUTBOX#1"),
            Err(SealError::Forged)
        );
        assert_eq!(
            keys().open(&sealed, b"OUTBOX#1"),
            Err(SealError::UnknownKey)
        );
        assert_eq!(k.open("!!", b""), Err(SealError::Malformed));
    }

    #[test]
    fn previous_secret_still_opens_and_verifies_after_rotation() {
        let old = ServiceSecret::generate().0;
        let before = ServiceKeys::new(old.clone(), None);
        let sealed = before.seal(b"link", b"a");
        let tag = before.sign("p", &[b"x"]);
        let rotated = ServiceKeys::new(ServiceSecret::generate().0, Some(old));
        assert_eq!(&rotated.open(&sealed, b"a").unwrap()[..], b"link");
        assert!(rotated.verify("p", &[b"x"], &tag));
        assert!(!rotated.verify("p", &[b"y"], &tag));
        let dropped = ServiceKeys::new(ServiceSecret::generate().0, None);
        assert!(!dropped.verify("p", &[b"x"], &tag));
    }

    #[test]
    fn short_codes_are_uniform_over_the_alphabet() {
        let mut counts = std::collections::HashMap::new();
        for _ in 0..2000 {
            let code = short_code(6);
            assert_eq!(code.len(), 6);
            for c in code.chars() {
                assert!(c.is_ascii_uppercase() || c.is_ascii_digit());
                *counts.entry(c).or_insert(0u32) += 1;
            }
        }
        // 12 000 draws over 36 symbols: about 333 each; a modulo-biased
        // draw from bytes would give the first 4 symbols about 14% more.
        assert_eq!(counts.len(), 36);
        assert!(
            counts.values().all(|&n| (250..=420).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn mac_parts_are_length_prefixed() {
        let k = keys();
        assert_ne!(k.sign("p", &[b"ab", b"c"]), k.sign("p", &[b"a", b"bc"]));
    }

    #[test]
    fn secret_parsing_names_the_problem() {
        assert!(
            ServiceSecret::parse("abcd")
                .unwrap_err()
                .to_string()
                .contains("too short")
        );
        assert!(ServiceSecret::parse("not base64 at all!").is_err());
        assert!(ServiceSecret::parse(&"ab".repeat(32)).is_ok());
    }
}
