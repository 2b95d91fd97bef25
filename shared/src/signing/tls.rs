//! The HTTPS client the small KMS client ([`super::kms_keys`]) speaks
//! through: hyper over rustls on ring, HTTP/1.1, with TLS cut to what KMS
//! endpoints need so that discovery stays within its size budget.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub(super) type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The operating system's random numbers, for the TLS handshake.
#[derive(Debug)]
struct OsRandom;

impl rustls::crypto::SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        getrandom::getrandom(buf).map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

/// No client certificates are ever loaded.
#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> Result<std::sync::Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General("no client authentication".into()))
    }
}

/// RSA signatures: what AWS service endpoints' certificate chains (Amazon
/// RSA 2048 intermediates under Amazon Root CA 1 or Starfield) and their
/// TLS 1.3 handshakes use.
static RSA_ALGORITHMS: rustls::crypto::WebPkiSupportedAlgorithms =
    rustls::crypto::WebPkiSupportedAlgorithms {
        all: &[
            webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
            webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            webpki::ring::RSA_PKCS1_2048_8192_SHA384,
            webpki::ring::RSA_PKCS1_2048_8192_SHA512,
        ],
        mapping: &[
            (
                rustls::SignatureScheme::RSA_PSS_SHA512,
                &[webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
            ),
            (
                rustls::SignatureScheme::RSA_PSS_SHA384,
                &[webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
            ),
            (
                rustls::SignatureScheme::RSA_PSS_SHA256,
                &[webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
            ),
            (
                rustls::SignatureScheme::RSA_PKCS1_SHA512,
                &[webpki::ring::RSA_PKCS1_2048_8192_SHA512],
            ),
            (
                rustls::SignatureScheme::RSA_PKCS1_SHA384,
                &[webpki::ring::RSA_PKCS1_2048_8192_SHA384],
            ),
            (
                rustls::SignatureScheme::RSA_PKCS1_SHA256,
                &[webpki::ring::RSA_PKCS1_2048_8192_SHA256],
            ),
        ],
    };

/// TLS for one peer, KMS, and no more: TLS 1.3 (which KMS endpoints speak,
/// their post-quantum hybrids included), X25519, AES-GCM, RSA signatures.
/// rustls's default provider also links P-256 and P-384 (a 150 KiB table
/// alone), ChaCha20 and ECDSA, which would put discovery over its size
/// budget (docs/benchmarks.md).
#[expect(clippy::expect_used, reason = "the provider above supports TLS 1.3")]
fn tls_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    use rustls::crypto::ring::{cipher_suite, kx_group};
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::X25519],
        signature_verification_algorithms: RSA_ALGORITHMS,
        secure_random: &OsRandom,
        key_provider: &NoClientKeys,
    };
    rustls::ClientConfig::builder_with_provider(provider.into())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("the provider supports TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The system's root certificates (`SSL_CERT_FILE`, else the usual
/// places; on Lambda `/etc/pki`), read once at init.
pub(super) fn native_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(error = %error, "a system root certificate store could not be read");
    }
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        // Every HTTPS call will fail, and the TLS error says why.
        tracing::error!("no TLS root certificates found (SSL_CERT_FILE, /etc/ssl, /etc/pki)");
    }
    roots
}

pub(super) fn https_client(roots: rustls::RootCertStore) -> HttpsClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    // Plain HTTP only for an endpoint configured so (a local emulator).
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(roots))
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(connector)
}
