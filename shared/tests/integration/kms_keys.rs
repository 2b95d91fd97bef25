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
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string().into(),
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
    let sdk = KmsSigner::new(client.clone(), current.clone(), None, Some(previous.clone()));
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
    assert!(
        matches!(&err, SigningError::Unavailable(m) if m.contains("NotFoundException")),
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
