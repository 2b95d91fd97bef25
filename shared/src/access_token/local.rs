//! The local adapter: RSA-2048 private keys as PKCS#8 PEM files in the data
//! dir (`signing-keys/current.pem`, `next.pem`, `previous.pem`, mode 0600),
//! signing in process. For rekeyctl; no Lambda links it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::traits::PublicKeyParts;

use super::{AccessTokenSigner, KeyState, PublishedKey, RsaPublicKey, SigningError};

const KEY_BITS: usize = 2048;
const STATES: [KeyState; 3] = [KeyState::Current, KeyState::Next, KeyState::Previous];

/// A key file's place in the rotation and what `rekeyctl signing-key list`
/// shows of it.
#[derive(Clone, Debug)]
pub struct LocalKeyInfo {
    pub state: KeyState,
    pub kid: String,
    /// When the file was written (renames keep it).
    pub created: SystemTime,
}

/// What a rotation step did.
#[derive(Debug, PartialEq, Eq)]
pub enum RotationStep {
    /// A next key now exists and is published; it signs after the next step.
    Published { next: String },
    /// The next key signs; the current one is previous until the next
    /// promotion replaces it (and the one previous before it is gone).
    Promoted { current: String, previous: String },
}

/// The directory of key files.
pub struct LocalKeyDir {
    dir: PathBuf,
}

fn bad(path: &Path, e: impl Into<crate::error::Cause>) -> SigningError {
    SigningError::BadKey(Box::new(crate::error::context(
        path.display().to_string(),
        e,
    )))
}

fn bad_key(e: impl std::error::Error + Send + Sync + 'static) -> SigningError {
    SigningError::BadKey(Box::new(e))
}

impl LocalKeyDir {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("signing-keys"),
        }
    }

    fn path(&self, state: KeyState) -> PathBuf {
        self.dir.join(format!("{}.pem", state.as_str()))
    }

    fn read(&self, state: KeyState) -> Result<Option<RsaPrivateKey>, SigningError> {
        let path = self.path(state);
        match std::fs::read_to_string(&path) {
            Ok(pem) => RsaPrivateKey::from_pkcs8_pem(&pem)
                .map(Some)
                .map_err(|e| bad(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad(&path, e)),
        }
    }

    fn create(&self, state: KeyState) -> Result<RsaPrivateKey, SigningError> {
        let path = self.path(state);
        std::fs::create_dir_all(&self.dir).map_err(|e| bad(&self.dir, e))?;
        let key = RsaPrivateKey::new(&mut OsRng, KEY_BITS).map_err(|e| bad(&path, e))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| bad(&path, e))?;
        write_private(&path, pem.as_bytes()).map_err(|e| bad(&path, e))?;
        Ok(key)
    }

    /// Makes the current key if there is none (first start); true if it did.
    pub fn ensure_current(&self) -> Result<bool, SigningError> {
        if self.read(KeyState::Current)?.is_some() {
            return Ok(false);
        }
        self.create(KeyState::Current)?;
        Ok(true)
    }

    pub fn list(&self) -> Result<Vec<LocalKeyInfo>, SigningError> {
        let mut keys = Vec::new();
        for state in STATES {
            if let Some(key) = self.read(state)? {
                let path = self.path(state);
                let created = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .map_err(|e| bad(&path, e))?;
                keys.push(LocalKeyInfo {
                    state,
                    kid: public_key(&key).thumbprint(),
                    created,
                });
            }
        }
        Ok(keys)
    }

    /// One step of the two-step rotation: makes a next key if there is
    /// none, else promotes it (next to current, current to previous).
    pub fn rotate(&self) -> Result<RotationStep, SigningError> {
        let Some(next) = self.read(KeyState::Next)? else {
            let next = self.create(KeyState::Next)?;
            return Ok(RotationStep::Published {
                next: public_key(&next).thumbprint(),
            });
        };
        let current = self
            .read(KeyState::Current)?
            .ok_or_else(|| bad(&self.path(KeyState::Current), "missing"))?;
        let rename = |from: KeyState, to: KeyState| {
            std::fs::rename(self.path(from), self.path(to)).map_err(|e| bad(&self.path(from), e))
        };
        rename(KeyState::Current, KeyState::Previous)?;
        rename(KeyState::Next, KeyState::Current)?;
        Ok(RotationStep::Promoted {
            current: public_key(&next).thumbprint(),
            previous: public_key(&current).thumbprint(),
        })
    }

    /// A signer over the keys as they are now (a rotation takes effect at
    /// the next start).
    pub fn signer(&self) -> Result<LocalSigner, SigningError> {
        let current = self
            .read(KeyState::Current)?
            .ok_or_else(|| bad(&self.path(KeyState::Current), "missing"))?;
        let mut published = Vec::new();
        for state in STATES {
            let key = match state {
                KeyState::Current => Some(current.clone()),
                other => self.read(other)?,
            };
            if let Some(key) = key {
                published.push(PublishedKey {
                    state,
                    key: public_key(&key),
                });
            }
        }
        Ok(LocalSigner {
            kid: public_key(&current).thumbprint(),
            current: ring_key(&current)?,
            published,
        })
    }
}

fn public_key(key: &RsaPrivateKey) -> RsaPublicKey {
    RsaPublicKey::new(&key.n().to_bytes_be(), &key.e().to_bytes_be())
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents)
}

/// Signs in process with the current key file's key. The `rsa` crate
/// makes and stores keys; ring, which rustls links anyway, signs: about
/// three times faster, which is most of the token endpoint's own time.
pub struct LocalSigner {
    current: ring::signature::RsaKeyPair,
    kid: String,
    published: Vec<PublishedKey>,
}

fn ring_key(key: &RsaPrivateKey) -> Result<ring::signature::RsaKeyPair, SigningError> {
    let der = key.to_pkcs8_der().map_err(bad_key)?;
    ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(bad_key)
}

impl LocalSigner {
    /// A signer over a fresh key held only in memory (tests, benchmarks).
    pub fn ephemeral() -> Result<Self, SigningError> {
        let current = RsaPrivateKey::new(&mut OsRng, KEY_BITS).map_err(bad_key)?;
        let key = public_key(&current);
        Ok(Self {
            kid: key.thumbprint(),
            published: vec![PublishedKey {
                state: KeyState::Current,
                key,
            }],
            current: ring_key(&current)?,
        })
    }
}

#[async_trait]
impl AccessTokenSigner for LocalSigner {
    async fn key_id(&self) -> Result<String, SigningError> {
        Ok(self.kid.clone())
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SigningError> {
        // ring hashes the input itself and blinds with the rng, so the
        // signing time says nothing of the key.
        let mut signature = vec![0; self.current.public().modulus_len()];
        self.current
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input,
                &mut signature,
            )
            .map_err(bad_key)?;
        Ok(signature)
    }

    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError> {
        Ok(self.published.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_then_two_step_rotation() {
        let data = tempfile::tempdir().unwrap();
        let dir = LocalKeyDir::in_data_dir(data.path());
        assert!(dir.ensure_current().unwrap());
        assert!(!dir.ensure_current().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path(KeyState::Current))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let first = dir.list().unwrap();
        assert_eq!(first.len(), 1);
        let original = first[0].kid.clone();

        let RotationStep::Published { next } = dir.rotate().unwrap() else {
            panic!("the first step publishes a next key");
        };
        let states: Vec<_> = dir.list().unwrap().iter().map(|k| k.state).collect();
        assert_eq!(states, [KeyState::Current, KeyState::Next]);
        let signer = dir.signer().unwrap();
        assert_eq!(signer.kid, original, "the next key does not sign yet");
        assert_eq!(signer.published.len(), 2);

        assert_eq!(
            dir.rotate().unwrap(),
            RotationStep::Promoted {
                current: next.clone(),
                previous: original.clone()
            }
        );
        let listed: Vec<_> = dir
            .list()
            .unwrap()
            .into_iter()
            .map(|k| (k.state, k.kid))
            .collect();
        assert_eq!(
            listed,
            [(KeyState::Current, next), (KeyState::Previous, original)]
        );
    }
}
