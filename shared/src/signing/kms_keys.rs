//! The signing keys' public halves from AWS KMS without the AWS SDK: one
//! call, `GetPublicKey` (JSON 1.1, `X-Amz-Target:
//! TrentService.GetPublicKey`), signed with SigV4 over hyper and rustls on
//! ring. For the functions that publish or check tokens and sign none
//! (discovery, oauth-userinfo): the SDK's runtime would be most of their
//! binary. Each key is fetched on first use and kept in memory; a failure
//! is not kept, so the next request tries again. Rotation works as with
//! [`super::kms::KmsSigner`]: the key ids come from the environment.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use tokio::sync::OnceCell;

use super::sigv4::{AwsCredentials, Scope, amz_date, sign_post};
use super::tls::{HttpsClient, https_client, native_roots};
use super::{
    KeyState, PublicKeySet, PublishedKey, RsaPublicKey, SIGNING_KEY_NEXT_VAR,
    SIGNING_KEY_PREVIOUS_VAR, SIGNING_KEY_VAR, SigningError,
};

const TARGET: &str = "TrentService.GetPublicKey";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// A `GetPublicKey` answer is about 1 KiB; anything far larger is not one.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
const ATTEMPTS: u32 = 3;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

struct KmsKey {
    state: KeyState,
    key_id: String,
    public: OnceCell<RsaPublicKey>,
}

/// Where KMS is: the endpoint's URI and `Host`, and the signing region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsEndpoint {
    pub uri: hyper::Uri,
    pub host: String,
    pub region: String,
}

impl KmsEndpoint {
    /// `endpoint` (e.g. moto's `http://127.0.0.1:5055`), else the regional
    /// public endpoint.
    pub fn new(region: &str, endpoint: Option<&str>) -> Result<Self, SigningError> {
        let url = match endpoint {
            Some(url) => url.trim_end_matches('/').to_string(),
            None if region.starts_with("cn-") => format!("https://kms.{region}.amazonaws.com.cn"),
            None => format!("https://kms.{region}.amazonaws.com"),
        };
        let uri: hyper::Uri = format!("{url}/")
            .parse()
            .map_err(|e| SigningError::BadKey(format!("KMS endpoint {url}: {e}")))?;
        let host = uri
            .authority()
            .ok_or_else(|| SigningError::BadKey(format!("KMS endpoint {url} has no host")))?
            .to_string();
        // Requests carry SigV4 headers and the session token: in clear only
        // to this machine (or, under sam local, the Docker host).
        let local = uri.host().is_some_and(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h.eq_ignore_ascii_case("localhost")
                || h.eq_ignore_ascii_case("host.docker.internal")
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if local => {}
            _ => {
                return Err(SigningError::BadKey(format!(
                    "KMS endpoint {url}: only https, or http to loopback or host.docker.internal \
                     (requests carry credentials)"
                )));
            }
        }
        Ok(Self {
            uri,
            host,
            region: region.to_string(),
        })
    }
}

/// The published keys, read from KMS.
pub struct KmsPublicKeys {
    http: HttpsClient,
    endpoint: KmsEndpoint,
    credentials: Option<AwsCredentials>,
    keys: Vec<KmsKey>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetPublicKeyOutput {
    public_key: String,
    key_usage: Option<String>,
}

/// The error type of a KMS error body (`{"__type": "...#NotFoundException"}`).
fn error_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["__type"].as_str().map(str::to_string))
        .map(|t| t.rsplit('#').next().unwrap_or_default().to_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// What one attempt came to: a key, a failure worth another attempt, or
/// one that is not.
enum Attempt {
    Key(RsaPublicKey),
    Retry(String),
    Fail(SigningError),
}

impl KmsPublicKeys {
    /// `current`, and `next` and `previous` during a rotation (key ids,
    /// ARNs or aliases); no network until the first request.
    pub fn new(
        endpoint: KmsEndpoint,
        credentials: Option<AwsCredentials>,
        current: String,
        next: Option<String>,
        previous: Option<String>,
    ) -> Self {
        let keys = super::key_slots(current, next, previous)
            .map(|(state, key_id)| KmsKey {
                state,
                key_id,
                public: OnceCell::new(),
            })
            .collect();
        Self {
            http: https_client(native_roots()),
            endpoint,
            credentials,
            keys,
        }
    }

    /// Trusts only `certificates` as roots instead of the system's (a
    /// private CA in front of KMS; the tests' local TLS server).
    pub fn with_root_certificates(
        mut self,
        certificates: impl IntoIterator<Item = rustls::pki_types::CertificateDer<'static>>,
    ) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(certificates);
        self.http = https_client(roots);
        self
    }

    /// The keys (`REKEY_SIGNING_KEY`, `_NEXT`, `_PREVIOUS`), region
    /// (`AWS_REGION`), endpoint (`AWS_ENDPOINT_URL_KMS`, else
    /// `AWS_ENDPOINT_URL`) and credentials (`AWS_ACCESS_KEY_ID`, ...) from
    /// `lookup` (a function's environment, where Lambda puts them); None
    /// without a signing key.
    pub fn from_vars(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Option<Result<Self, SigningError>> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let current = var(SIGNING_KEY_VAR)?;
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let endpoint = var("AWS_ENDPOINT_URL_KMS").or_else(|| var("AWS_ENDPOINT_URL"));
        let credentials = var("AWS_ACCESS_KEY_ID")
            .zip(var("AWS_SECRET_ACCESS_KEY"))
            .map(|(access_key_id, secret)| AwsCredentials {
                access_key_id,
                secret_access_key: secret.into(),
                session_token: var("AWS_SESSION_TOKEN"),
            });
        Some(
            KmsEndpoint::new(&region, endpoint.as_deref()).map(|endpoint| {
                Self::new(
                    endpoint,
                    credentials,
                    current,
                    var(SIGNING_KEY_NEXT_VAR),
                    var(SIGNING_KEY_PREVIOUS_VAR),
                )
            }),
        )
    }

    async fn attempt(&self, credentials: &AwsCredentials, key_id: &str) -> Attempt {
        let body = serde_json::json!({ "KeyId": key_id }).to_string();
        let scope = Scope {
            region: &self.endpoint.region,
            service: "kms",
            amz_date: &amz_date(crate::domain::now()),
        };
        let headers = sign_post(
            credentials,
            &scope,
            &self.endpoint.host,
            &[("content-type", CONTENT_TYPE), ("x-amz-target", TARGET)],
            body.as_bytes(),
        );
        let mut req = hyper::Request::post(self.endpoint.uri.clone());
        for (name, value) in &headers {
            req = req.header(name, value);
        }
        let Ok(req) = req.body(Full::new(Bytes::from(body))) else {
            return Attempt::Fail(SigningError::BadKey(format!("key id {key_id:?}")));
        };
        let sent = tokio::time::timeout(ATTEMPT_TIMEOUT, async {
            let resp = self.http.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        })
        .await;
        let (status, body) = match sent {
            Err(_) => return Attempt::Retry("timed out".into()),
            Ok(Err(e)) => return Attempt::Retry(e),
            Ok(Ok(answer)) => answer,
        };
        if !status.is_success() {
            let kind = error_type(&body);
            let cause = format!("{kind} (HTTP {})", status.as_u16());
            return if status.is_server_error() || kind.contains("Throttling") {
                Attempt::Retry(cause)
            } else {
                Attempt::Fail(SigningError::Unavailable(cause))
            };
        }
        let parsed = serde_json::from_slice::<GetPublicKeyOutput>(&body)
            .map_err(|e| format!("GetPublicKey answer: {e}"))
            .and_then(|out| {
                if out.key_usage.as_deref().is_some_and(|u| u != "SIGN_VERIFY") {
                    return Err("the key is not a SIGN_VERIFY key".into());
                }
                STANDARD
                    .decode(out.public_key)
                    .map_err(|e| format!("GetPublicKey PublicKey: {e}"))
            });
        match parsed {
            Ok(der) => match RsaPublicKey::from_spki_der(&der) {
                Ok(key) => Attempt::Key(key),
                Err(e) => Attempt::Fail(e),
            },
            Err(e) => Attempt::Fail(SigningError::BadKey(e)),
        }
    }

    async fn fetch(&self, key_id: &str) -> Result<RsaPublicKey, SigningError> {
        let credentials = self.credentials.as_ref().ok_or_else(|| {
            SigningError::Unavailable("no AWS credentials in the environment".into())
        })?;
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            match self.attempt(credentials, key_id).await {
                Attempt::Key(key) => return Ok(key),
                Attempt::Fail(SigningError::Unavailable(cause)) => {
                    return Err(unavailable(key_id, &cause));
                }
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(cause) => last = cause,
            }
        }
        Err(unavailable(key_id, &last))
    }
}

fn unavailable(key_id: &str, cause: &str) -> SigningError {
    SigningError::Unavailable(format!("kms:GetPublicKey on {key_id}: {cause}"))
}

#[async_trait]
impl PublicKeySet for KmsPublicKeys {
    async fn published_keys(&self) -> Result<Vec<PublishedKey>, SigningError> {
        let mut published = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let public = key
                .public
                .get_or_try_init(|| self.fetch(&key.key_id))
                .await?;
            published.push(PublishedKey {
                state: key.state,
                key: public.clone(),
            });
        }
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_configured_else_regional() {
        let kms = KmsEndpoint::new("eu-west-1", None).unwrap();
        assert_eq!(kms.host, "kms.eu-west-1.amazonaws.com");
        assert_eq!(kms.uri.scheme_str(), Some("https"));
        let cn = KmsEndpoint::new("cn-north-1", None).unwrap();
        assert_eq!(cn.host, "kms.cn-north-1.amazonaws.com.cn");
        for refused in [
            "http://kms.example.com",
            "http://10.0.0.5:4566",
            "http://[2001:db8::1]:80",
            "ftp://127.0.0.1",
        ] {
            assert!(
                KmsEndpoint::new("us-east-1", Some(refused)).is_err(),
                "{refused}"
            );
        }
        for local in [
            "http://localhost:4566",
            "http://[::1]:4566",
            "http://host.docker.internal:5000",
            "https://kms.example.com",
        ] {
            assert!(
                KmsEndpoint::new("us-east-1", Some(local)).is_ok(),
                "{local}"
            );
        }
        let moto = KmsEndpoint::new("us-east-1", Some("http://127.0.0.1:5055/")).unwrap();
        assert_eq!(
            (moto.host.as_str(), moto.uri.to_string().as_str()),
            ("127.0.0.1:5055", "http://127.0.0.1:5055/")
        );
        assert!(KmsEndpoint::new("us-east-1", Some("not a url")).is_err());
    }

    #[test]
    fn keys_and_endpoint_come_from_the_environment() {
        let vars = [
            (SIGNING_KEY_VAR, "arn:aws:kms:us-east-1:1:key/a"),
            (
                "REKEY_SIGNING_KEY_PREVIOUS",
                "arn:aws:kms:us-east-1:1:key/b",
            ),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:2"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let keys = KmsPublicKeys::from_vars(lookup).unwrap().unwrap();
        assert_eq!(keys.endpoint.host, "127.0.0.1:2");
        let states: Vec<_> = keys.keys.iter().map(|k| k.state).collect();
        assert_eq!(states, [KeyState::Current, KeyState::Previous]);
        assert_eq!(keys.credentials.unwrap().session_token, None);
        assert!(
            KmsPublicKeys::from_vars(|_| None).is_none(),
            "no key, no key set"
        );
    }

    #[test]
    fn kms_error_types_are_read_without_their_namespace() {
        assert_eq!(
            error_type(br#"{"__type":"com.amazonaws.kms#NotFoundException","message":"x"}"#),
            "NotFoundException"
        );
        assert_eq!(error_type(b"<html>"), "unknown error");
    }
}
