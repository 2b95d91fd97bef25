//! The signing keys' public halves from AWS KMS through aws-sdk-kms
//! (`signing::kms::KmsKeys`, what discovery and oauth-userinfo build): the
//! same keys the signer publishes, cached, and their failures as 503s.

use std::sync::Arc;

use rekey::App;
use rekey::access_token::kms::{KmsKeys, KmsSigner};
use rekey::access_token::{AccessTokenSigner, KeyState, PublicKeySet, SigningError};
use rekey::error::Chain;
use rekey::routes::Function;

use crate::support::{apigw_request, aws_config, moto_endpoint, response_json};

fn on_moto(
    config: &aws_config::SdkConfig,
    current: &str,
    next: Option<&str>,
    previous: Option<&str>,
) -> KmsKeys {
    KmsKeys::new(
        aws_sdk_kms::Client::new(config),
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
async fn the_public_keys_are_the_signers_and_are_cached() {
    let client = aws_sdk_kms::Client::new(&aws_config().await);
    let (current, previous) = (kms_key(&client).await, kms_key(&client).await);
    let signer = KmsSigner::new(KmsKeys::new(
        client.clone(),
        current.clone(),
        None,
        Some(previous.clone()),
    ));
    let keys = on_moto(&aws_config().await, &current, None, Some(&previous));
    let ours = keys.published_keys().await.unwrap();
    let theirs = AccessTokenSigner::published_keys(&signer).await.unwrap();
    let states: Vec<_> = ours.iter().map(|k| k.state).collect();
    assert_eq!(states, [KeyState::Current, KeyState::Previous]);
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a.key, b.key, "the same public key");
    }
    assert_eq!(
        ours[0].key.thumbprint(),
        signer.key_id().await.unwrap(),
        "kid is the RFC 7638 thumbprint either way"
    );
    // Cached: the second call answers the same without KMS.
    assert_eq!(
        keys.published_keys()
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
        Some(Arc::new(keys) as Arc<dyn PublicKeySet>),
        "account",
    );
    let resp = rekey::contract::discovery::discovery(
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
    let moto = aws_config().await;
    let missing = on_moto(&moto, "alias/rekey-nowhere", None, None);
    let err = missing.published_keys().await.unwrap_err();
    // NotFoundException from moto (or, when the shared moto is slow, a
    // timeout): either way unavailable, naming the call and the key.
    assert!(
        matches!(&err, SigningError::Unavailable(cause) if cause.to_string().contains("kms:GetPublicKey on alias/rekey-nowhere")),
        "{err:?}"
    );
    let closed = rekey::aws::config_loader()
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "x", "x", None, None, "t",
        ))
        .load()
        .await;
    assert!(matches!(
        on_moto(&closed, "k", None, None).published_keys().await,
        Err(SigningError::Unavailable(_))
    ));
    let anonymous = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .build();
    assert!(matches!(
        on_moto(&anonymous, "k", None, None).published_keys().await,
        Err(SigningError::Unavailable(cause))
            if Chain(cause.as_ref()).to_string().to_lowercase().contains("credential")
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
