//! Access-token signing: the port every signer implements, the keys it
//! publishes, and the key ids consumers match them by.
//!
//! Tokens are RS256 (what API Gateway's JWT authorizers accept) so that
//! anyone can verify them with the published keys and nobody but the signer
//! can make them. Adapters: `local` (PEM files in the data dir, rekeyctl)
//! and `kms` (AWS KMS; the private key never leaves it).

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{Invariant, context};

pub mod jwt;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(feature = "local-signer")]
pub mod local;
pub mod verify;

pub use jwt::AccessClaims;

pub use crate::config::SIGNING_KEY_VAR;

/// What can go wrong signing or publishing.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// No signer: this deployment does not issue access tokens.
    #[error("{0} is not set: no access-token signing key is configured")]
    NotConfigured(&'static str),
    /// The signer could not be reached or refused; a retry may cure it.
    #[error("signer unavailable")]
    Unavailable(#[source] crate::error::Cause),
    /// A key that is not an RSA key of the expected shape, or unreadable.
    #[error("signing key unusable")]
    BadKey(#[source] crate::error::Cause),
    /// A token's header or claims did not serialise (a bug).
    #[error("access token could not be encoded")]
    Encoding(#[source] serde_json::Error),
}

/// A signer's failure in the domain's terms: no key configured (logged
/// with the variable to set) or a signer that cannot be reached is
/// `Unavailable` (503), a key of the wrong shape `Internal`.
impl From<SigningError> for crate::error::ResetError {
    fn from(e: SigningError) -> Self {
        match &e {
            SigningError::NotConfigured(variable) => {
                tracing::error!(variable, "configuration error: no access-token signing key");
                crate::error::ResetError::Unavailable(Box::new(e))
            }
            SigningError::Unavailable(_) => crate::error::ResetError::Unavailable(Box::new(e)),
            SigningError::BadKey(_) | SigningError::Encoding(_) => {
                crate::error::ResetError::Internal(Box::new(e))
            }
        }
    }
}

/// Where a published key is in its rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Signs now.
    Current,
    /// Published ahead of signing, so caches hold it before its first token.
    Next,
    /// Signed before the last rotation; published until its tokens expire.
    Previous,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Current => "current",
            KeyState::Next => "next",
            KeyState::Previous => "previous",
        }
    }
}

/// rsaEncryption (RFC 8017 appendix A.1), the algorithm of an RSA
/// SubjectPublicKeyInfo.
const RSA_ENCRYPTION: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// An RSA public key: modulus and exponent, big-endian without leading zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

impl RsaPublicKey {
    pub fn new(n: &[u8], e: &[u8]) -> Self {
        let strip = |b: &[u8]| {
            let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
            b[start..].to_vec()
        };
        Self {
            n: strip(n),
            e: strip(e),
        }
    }

    /// From a DER SubjectPublicKeyInfo, what KMS `GetPublicKey` returns:
    /// rsaEncryption with a PKCS#1 RSAPublicKey inside (RFC 5280, RFC 8017).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, SigningError> {
        use spki::der::Decode;
        const NOT_RSA: &str = "not an RSA SubjectPublicKeyInfo";
        let bad = |e: spki::der::Error| SigningError::BadKey(Box::new(context(NOT_RSA, e)));
        let info = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(bad)?;
        let not_rsa = || SigningError::BadKey(Box::new(Invariant(NOT_RSA)));
        if info.algorithm.oid != RSA_ENCRYPTION {
            return Err(not_rsa());
        }
        let bits = info.subject_public_key.as_bytes().ok_or_else(not_rsa)?;
        let key = pkcs1::RsaPublicKey::from_der(bits).map_err(bad)?;
        Ok(Self::new(
            key.modulus.as_bytes(),
            key.public_exponent.as_bytes(),
        ))
    }

    /// The RFC 7638 JWK thumbprint: base64url SHA-256 of the canonical
    /// `{"e","kty","n"}`. The `kid`, so it is the same whichever adapter
    /// holds the key.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(&self.e),
            URL_SAFE_NO_PAD.encode(&self.n)
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The key as a JWK for the JWKS.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.thumbprint(),
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }
}

/// A key the JWKS publishes, with its place in the rotation.
#[derive(Clone, Debug)]
pub struct PublishedKey {
    pub state: KeyState,
    pub key: RsaPublicKey,
}

/// The port: signs JWS signing inputs with RS256 under the current key and
/// lists the keys to publish.
#[async_trait]
pub trait AccessTokenSigner: Send + Sync {
    /// The `kid` of the key `sign` uses.
    async fn key_id(&self) -> Result<String, SigningError>;

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `signing_input`.
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SigningError>;

    /// Every key to publish: the current one, and the next and previous
    /// when a rotation is under way.
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError>;
}

/// The public half of the port: the keys tokens verify under, for what
/// publishes or checks tokens without signing (discovery, userinfo).
#[async_trait]
pub trait PublicKeySet: Send + Sync {
    /// Every published key: current, and next and previous in a rotation.
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError>;
}

/// A signer's published keys as a [`PublicKeySet`].
pub struct SignerKeys(pub std::sync::Arc<dyn AccessTokenSigner>);

#[async_trait]
impl PublicKeySet for SignerKeys {
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError> {
        self.0.published_keys().await
    }
}

/// The issuer tokens name and discovery publishes: `REKEY_TOKEN_ISSUER`
/// when set, else the origin the request reached through API Gateway (the
/// HTTP API's own URL cannot be given to its functions without a circular
/// dependency in the template), else "rekey".
pub fn issuer_for(configured: Option<&str>, req: &lambda_http::Request) -> String {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    if let Some(issuer) = configured {
        return issuer.trim_end_matches('/').to_string();
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.as_deref(),
        _ => None,
    }
    .filter(|d| !d.is_empty())
    .map(|domain| format!("https://{domain}"))
    .unwrap_or_else(|| "rekey".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 section 3.1's example key and thumbprint.
    #[test]
    fn kid_is_the_rfc_7638_thumbprint() {
        let n = URL_SAFE_NO_PAD
            .decode(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            )
            .unwrap();
        let key = RsaPublicKey::new(&n, &[1, 0, 1]);
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // Leading zero bytes (as DER integers carry) do not change it.
        let padded = [&[0u8][..], &n].concat();
        assert_eq!(RsaPublicKey::new(&padded, &[0, 1, 0, 1]), key);
        let jwk = key.jwk();
        assert_eq!(jwk["kid"], "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(
            (jwk["kty"].as_str(), jwk["e"].as_str()),
            (Some("RSA"), Some("AQAB"))
        );
    }

    #[test]
    fn issuer_is_configured_else_the_api_domain() {
        use lambda_http::RequestExt;
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        use lambda_http::request::RequestContext;
        let req = lambda_http::Request::default();
        assert_eq!(
            issuer_for(Some("https://id.example/"), &req),
            "https://id.example"
        );
        assert_eq!(issuer_for(None, &req), "rekey");
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.domain_name = Some("abc.execute-api.us-east-1.amazonaws.com".into());
        let req = req.with_request_context(RequestContext::ApiGatewayV2(ctx));
        assert_eq!(
            issuer_for(None, &req),
            "https://abc.execute-api.us-east-1.amazonaws.com"
        );
    }

    /// A key's SubjectPublicKeyInfo, as KMS `GetPublicKey` returns it,
    /// reads back as its modulus and exponent.
    #[cfg(feature = "local-signer")]
    #[test]
    fn reads_an_rsa_subject_public_key_info() {
        use rsa::pkcs8::EncodePublicKey;
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let public = private.to_public_key();
        let der = public.to_public_key_der().unwrap();
        let read = RsaPublicKey::from_spki_der(der.as_bytes()).unwrap();
        assert_eq!(
            read,
            RsaPublicKey::new(&public.n().to_bytes_be(), &public.e().to_bytes_be())
        );
        assert_eq!(read.e, [1, 0, 1]);
    }

    #[test]
    fn refuses_what_is_not_an_rsa_key() {
        for junk in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x02, 0x01, 0x00],
        ] {
            assert!(RsaPublicKey::from_spki_der(junk).is_err(), "{junk:?}");
        }
        // An EC key's SPKI (id-ecPublicKey) is not RSA.
        let ec = [
            0x30, 0x0d, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x03,
            0x00,
        ];
        assert!(RsaPublicKey::from_spki_der(&ec).is_err());
    }
}
