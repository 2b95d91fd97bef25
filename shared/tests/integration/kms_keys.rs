//! The small KMS `GetPublicKey` client (feature `kms-keys`, what discovery
//! and oauth-userinfo link instead of the AWS SDK): its SigV4 against the
//! reference implementation, its keys against the SDK adapter's on moto,
//! and its failures as 503s.

use std::sync::Arc;

use rekey::App;
use rekey::routes::Function;
use rekey::signing::kms::KmsSigner;
use rekey::signing::kms_keys::{KmsEndpoint, KmsPublicKeys};
use rekey::signing::sigv4::{AwsCredentials, Scope, amz_date, sign_post};
use rekey::signing::{AccessTokenSigner, KeyState, PublicKeySet, SigningError};

use crate::support::{apigw_request, aws_config, moto_endpoint, response_json};

fn credentials(session_token: Option<&str>) -> AwsCredentials {
    AwsCredentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
            .to_string()
            .into(),
        session_token: session_token.map(str::to_string),
    }
}

/// The signature aws-sigv4 (the SDK's signer) makes for the same request.
fn reference_authorization(
    session_token: Option<&str>,
    unix: u64,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token.map(str::to_string),
        None,
        "tests",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("kms")
        .time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    // What the request carries before signing.
    let unsigned: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(k, _)| ["content-type", "x-amz-target", "host"].contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = SignableRequest::new(
        "POST",
        "https://kms.eu-west-1.amazonaws.com/",
        unsigned.into_iter(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    instructions
        .headers()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.to_string())
        .expect("aws-sigv4 signs with an Authorization header")
}

#[test]
fn sigv4_matches_the_reference_signer() {
    let body = br#"{"KeyId":"arn:aws:kms:eu-west-1:111122223333:key/1234abcd"}"#;
    for (unix, token) in [
        (1_440_938_160, None),
        (1_795_374_000, Some("FQoGZXIvYXdzEXAMPLE/session+token=")),
    ] {
        let date = amz_date(unix as i64);
        let scope = Scope {
            region: "eu-west-1",
            service: "kms",
            amz_date: &date,
        };
        let headers = sign_post(
            &credentials(token),
            &scope,
            "kms.eu-west-1.amazonaws.com",
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "TrentService.GetPublicKey"),
            ],
            body,
        );
        let ours = headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(
            ours,
            reference_authorization(token, unix, &headers, body),
            "session token {token:?}"
        );
        let sent_token = headers
            .iter()
            .find(|(k, _)| k == "x-amz-security-token")
            .map(|(_, v)| v.as_str());
        assert_eq!(sent_token, token);
        // Another body, another signature.
        let other = sign_post(
            &credentials(token),
            &scope,
            "kms.eu-west-1.amazonaws.com",
            &[],
            b"{}",
        );
        assert_ne!(other.last().unwrap().1, ours);
    }
}

fn on_moto(current: &str, next: Option<&str>, previous: Option<&str>) -> KmsPublicKeys {
    KmsPublicKeys::new(
        KmsEndpoint::new("us-east-1", Some(&moto_endpoint())).unwrap(),
        Some(AwsCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".to_string().into(),
            session_token: None,
        }),
        current.into(),
        next.map(str::to_string),
        previous.map(str::to_string),
    )
}

async fn kms_key(client: &aws_sdk_kms::Client) -> String {
    client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("moto creates an RSA_2048 SIGN_VERIFY key")
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_small_client_reads_the_keys_the_sdk_reads() {
    let client = aws_sdk_kms::Client::new(&aws_config().await);
    let (current, previous) = (kms_key(&client).await, kms_key(&client).await);
    let sdk = KmsSigner::new(
        client.clone(),
        current.clone(),
        None,
        Some(previous.clone()),
    );
    let small = on_moto(&current, None, Some(&previous));
    let ours = small.published_keys().await.unwrap();
    let theirs = AccessTokenSigner::published_keys(&sdk).await.unwrap();
    let states: Vec<_> = ours.iter().map(|k| k.state).collect();
    assert_eq!(states, [KeyState::Current, KeyState::Previous]);
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a.key, b.key, "the same public key");
    }
    assert_eq!(
        ours[0].key.thumbprint(),
        sdk.key_id().await.unwrap(),
        "kid is the RFC 7638 thumbprint either way"
    );
    // Cached: the second call answers the same without KMS.
    assert_eq!(
        small
            .published_keys()
            .await
            .unwrap()
            .iter()
            .map(|k| k.key.clone())
            .collect::<Vec<_>>(),
        ours.iter().map(|k| k.key.clone()).collect::<Vec<_>>()
    );

    // The JWKS served from it.
    let discovery = rekey::contract::discovery::Discovery::new(
        Some("https://id.example".into()),
        Some(Arc::new(small) as Arc<dyn PublicKeySet>),
        "account",
    );
    let resp = rekey::contract::discovery::serve(
        &discovery,
        &apigw_request("GET", "/.well-known/jwks.json", &[], &[], None),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let kids: Vec<String> = response_json(&resp)["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kids,
        theirs
            .iter()
            .map(|k| k.key.thumbprint())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn failures_are_unavailable() {
    let missing = on_moto("alias/rekey-nowhere", None, None);
    let err = missing.published_keys().await.unwrap_err();
    // NotFoundException from moto (or, when the shared moto is slow, a
    // timeout): either way unavailable, naming the call and the key.
    assert!(
        matches!(&err, SigningError::Unavailable(m) if m.contains("kms:GetPublicKey on alias/rekey-nowhere")),
        "{err:?}"
    );
    let closed = KmsPublicKeys::new(
        KmsEndpoint::new("us-east-1", Some("http://127.0.0.1:9")).unwrap(),
        Some(credentials(None)),
        "k".into(),
        None,
        None,
    );
    assert!(matches!(
        closed.published_keys().await,
        Err(SigningError::Unavailable(_))
    ));
    let anonymous = KmsPublicKeys::new(
        KmsEndpoint::new("us-east-1", Some(&moto_endpoint())).unwrap(),
        None,
        "k".into(),
        None,
        None,
    );
    assert!(matches!(
        anonymous.published_keys().await,
        Err(SigningError::Unavailable(m)) if m.contains("credentials")
    ));

    // Through the routes: the JWKS and userinfo answer 503.
    let t = crate::support::TestApp::embedded(crate::support::config()).await;
    let app = App::new(&t.config, t.store.clone()).with_public_keys(Arc::new(missing));
    let jwks = Function::Discovery
        .handle(
            &app,
            apigw_request("GET", "/.well-known/jwks.json", &[], &[], None),
        )
        .await;
    assert_eq!(jwks.status(), 503);
    let userinfo = Function::OAuthUserinfo
        .handle(
            &app,
            apigw_request(
                "GET",
                "/oauth/userinfo",
                &[],
                &[("authorization", "Bearer a.b.c")],
                None,
            ),
        )
        .await;
    assert_eq!(userinfo.status(), 503);
}

/// A TLS 1.3 server on loopback with the test CA's `localhost` certificate
/// (RSA, as AWS endpoints' are) that answers every request with `answer`.
async fn tls_server(answer: String) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures");
    let certs = vec![CertificateDer::from_pem_file(dir.join("tls-server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("tls-server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, answer) = (acceptor.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // The request's head and its small JSON body.
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn test_ca() -> rustls::pki_types::CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/fixtures/tls-ca.pem");
    rustls::pki_types::CertificateDer::from_pem_file(path).unwrap()
}

/// The client's own TLS settings (TLS 1.3, X25519, AES-GCM, RSA chains)
/// complete a handshake and verify the chain; a server the roots do not
/// vouch for is refused.
#[tokio::test]
async fn the_small_client_speaks_tls_and_checks_the_chain() {
    use base64::Engine;
    let client = aws_sdk_kms::Client::new(&aws_config().await);
    let arn = kms_key(&client).await;
    let der = client
        .get_public_key()
        .key_id(&arn)
        .send()
        .await
        .unwrap()
        .public_key()
        .unwrap()
        .as_ref()
        .to_vec();
    let answer = serde_json::json!({
        "KeyId": arn,
        "KeyUsage": "SIGN_VERIFY",
        "KeySpec": "RSA_2048",
        "PublicKey": base64::engine::general_purpose::STANDARD.encode(&der),
    })
    .to_string();
    let port = tls_server(answer).await;
    let endpoint = format!("https://localhost:{port}");
    let keys = |roots: Vec<rustls::pki_types::CertificateDer<'static>>| {
        KmsPublicKeys::new(
            KmsEndpoint::new("us-east-1", Some(&endpoint)).unwrap(),
            Some(credentials(None)),
            arn.clone(),
            None,
            None,
        )
        .with_root_certificates(roots)
    };
    let published = keys(vec![test_ca()]).published_keys().await.unwrap();
    assert_eq!(
        published[0].key,
        rekey::signing::RsaPublicKey::from_spki_der(&der).unwrap()
    );
    // Without the test CA among the roots the chain does not verify.
    assert!(matches!(
        keys(vec![]).published_keys().await,
        Err(SigningError::Unavailable(_))
    ));
}
