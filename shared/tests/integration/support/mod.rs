//! Test support: stores under test (embedded in a temp dir, DynamoDB on the
//! moto server that scripts/test starts), configuration, fixtures.
#![allow(dead_code)]

pub mod cognito;
mod imported_hashes;
mod outbox;
pub mod range_api;
mod test_app;
pub mod webhook_receiver;

// no_secrets_in_logs.rs uses part of this module.
#[allow(unused_imports)]
pub use imported_hashes::*;
#[allow(unused_imports)]
pub use outbox::*;
#[allow(unused_imports)]
pub use test_app::*;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rekey::clock::{Clock, SystemClock};
use rekey::config::{Config, EnvReader};
use rekey::crypto::{API_KEY_PREFIX, BearerSecret, ServiceSecret};
use rekey::domain::{ApiKey, EmailAddress, OrgBinding, Scope, UnixTime, User, UserId};
use rekey::password::{CredentialHasher, NewPassword, Verification};
use rekey::store::Store;
use rekey::store::dynamo::DynamoStore;
use rekey::store::embedded::EmbeddedStore;

pub const OLD_PASSWORD: &str = "Old-Passw0rd-kept-long";
pub const NEW_PASSWORD: &str = "Fresh-Horse-42-Battery";

/// moto's endpoint, as scripts/test exports it. Tests that need it fail with
/// instructions rather than skip: a skipped store test proves nothing.
pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts moto")
    })
}

pub async fn aws_config() -> aws_config::SdkConfig {
    rekey::aws::config_loader()
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// The system's time now, as the store keeps it (the services under test
/// run on the system clock unless a test gives them a `ManualClock`).
pub fn now() -> UnixTime {
    SystemClock.now()
}

/// The same in Unix seconds, as signed links and JWT claims carry it.
pub fn now_secs() -> i64 {
    now().secs()
}

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A fresh table on moto, created as `rekeyctl table create` does.
pub async fn dynamo_store() -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&aws_config().await);
    let store = DynamoStore::new(client, unique("rekey-test"));
    store.create_table().await.expect("create table on moto");
    store
}

pub struct Embedded {
    pub store: EmbeddedStore,
    _dir: tempfile::TempDir,
}

pub fn embedded_store() -> Embedded {
    let dir = tempfile::tempdir().unwrap();
    Embedded {
        store: EmbeddedStore::open(&dir.path().join("rekey.db")).unwrap(),
        _dir: dir,
    }
}

pub fn config_with(extra: &[(&str, &str)]) -> Config {
    let secret = ServiceSecret::generate().1;
    let vars: Vec<(String, String)> = [
        ("REKEY_SECRET", secret.as_str()),
        (
            "REKEY_RESET_URL",
            "https://app.example.com/reset?token={token}",
        ),
        ("REKEY_PRODUCT_NAME", "Acme"),
        // Flows here mail one address several times a minute; the limits
        // have tests of their own (limits_and_audit.rs).
        ("REKEY_LIMIT_EMAIL_PER_MINUTE", "1000"),
        ("REKEY_LIMIT_EMAIL_PER_HOUR", "1000"),
        ("REKEY_LIMIT_SOURCE_PER_MINUTE", "100000"),
        ("REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR", "1000"),
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR", "1000"),
        ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "1000"),
        // The flows here sign in through the recovery client; a default
        // deployment keeps it off the password grant (oauth.rs).
        ("REKEY_OAUTH_CLIENT_FIRST_PARTY", "true"),
        // The imported hashes of imported_hashes.rs (bcrypt cost 4, PBKDF2
        // 1000 iterations): every comparison does that much legacy work.
        ("REKEY_LEGACY_BCRYPT_COST", "4"),
        ("REKEY_LEGACY_PBKDF2_ITERATIONS", "1000"),
    ]
    .iter()
    .chain(extra.iter())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut env = EnvReader::new(move |k| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    });
    let config = Config::read(&mut env);
    env.finish().expect("test configuration is valid");
    config.unwrap()
}

pub fn config() -> Config {
    config_with(&[])
}

pub async fn add_user(store: &dyn Store, config: &Config, email: &str) -> User {
    let mut user = User::new(
        UserId::generate(),
        EmailAddress::parse(email).unwrap(),
        now(),
    );
    user.name = Some("Ada Lovelace".into());
    user.password_hash = Some(
        CredentialHasher::new(config.hash_params)
            .hash(&NewPassword::normalize(OLD_PASSWORD))
            .unwrap(),
    );
    store.insert_user(&user).await.unwrap();
    user
}

/// A fresh API key: the secret a client sends, and the record stored.
pub fn api_key(scopes: &[Scope]) -> (String, ApiKey) {
    let secret = BearerSecret::generate(API_KEY_PREFIX);
    let key = ApiKey {
        digest: secret.digest(),
        name: "test".into(),
        scopes: scopes.to_vec(),
        created_at: now(),
        revoked: false,
        org: Default::default(),
    };
    (secret.expose().to_string(), key)
}

pub async fn add_key(store: &dyn Store, scopes: &[Scope]) -> String {
    add_key_for(store, scopes, OrgBinding::DefaultOrg).await
}

/// A fresh API key bound to `org`.
pub async fn add_key_for(store: &dyn Store, scopes: &[Scope], org: OrgBinding) -> String {
    let (secret, mut key) = api_key(scopes);
    key.org = org;
    store.insert_api_key(&key).await.unwrap();
    secret
}

/// Whether `password` matches the stored `hash`.
pub fn verifies(config: &Config, password: &str, hash: &str) -> bool {
    matches!(
        CredentialHasher::new(config.hash_params).verify(password, hash),
        Verification::Match { .. }
    )
}

pub fn unique_email() -> String {
    format!("{}@example.com", unique("user"))
}

/// Polls `check` until it yields a value or `timeout` passes.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn shared(store: impl Store + 'static) -> Arc<dyn Store> {
    Arc::new(store)
}

/// An API Gateway HTTP API (payload 2.0) event, parsed by lambda_http the
/// way the Lambda runtime parses what API Gateway sends.
pub fn apigw_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> lambda_http::Request {
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut header_map = serde_json::Map::new();
    for (k, v) in headers {
        header_map.insert(k.to_lowercase(), serde_json::Value::String(v.to_string()));
    }
    header_map.insert("user-agent".into(), "rekey-tests/1.0".into());
    let query_map: serde_json::Map<String, serde_json::Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": header_map,
        "queryStringParameters": query_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "rekey-tests/1.0"
            },
            "requestId": "req",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "22/Nov/2026:19:00:00 +0000",
            "timeEpoch": 1795374000000i64
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

pub fn response_json(resp: &lambda_http::Response<lambda_http::Body>) -> serde_json::Value {
    serde_json::from_slice(resp.body().as_ref()).expect("a JSON response body")
}

/// moto's DynamoDB Streams API, spoken as raw JSON: the records it returns
/// are what Lambda hands the send-email function.
pub struct StreamReader {
    http: reqwest::Client,
    iterator: String,
    arn: String,
}

async fn streams_call(
    http: &reqwest::Client,
    target: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    http.post(moto_endpoint())
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDBStreams_20120810.{target}"))
        // moto routes on the credential scope; it checks no signature.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        )
        .json(&body)
        .send()
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto answers JSON")
}

impl StreamReader {
    /// Reads the table's stream from its start.
    pub async fn open(table: &str) -> Self {
        let http = reqwest::Client::new();
        let streams = streams_call(
            &http,
            "ListStreams",
            serde_json::json!({"TableName": table}),
        )
        .await;
        let arn = streams["Streams"][0]["StreamArn"]
            .as_str()
            .expect("the table has a stream")
            .to_string();
        let desc = streams_call(
            &http,
            "DescribeStream",
            serde_json::json!({"StreamArn": arn}),
        )
        .await;
        let shard = desc["StreamDescription"]["Shards"][0]["ShardId"]
            .as_str()
            .unwrap()
            .to_string();
        let it = streams_call(
            &http,
            "GetShardIterator",
            serde_json::json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await;
        Self {
            http,
            iterator: it["ShardIterator"].as_str().unwrap().to_string(),
            arn,
        }
    }

    /// The records written since the last call, as a Lambda stream event.
    pub async fn next_event(
        &mut self,
    ) -> (serde_json::Value, rekey::delivery::stream::StreamEvent) {
        let page = streams_call(
            &self.http,
            "GetRecords",
            serde_json::json!({"ShardIterator": self.iterator}),
        )
        .await;
        self.iterator = page["NextShardIterator"].as_str().unwrap().to_string();
        let mut records = page["Records"].as_array().cloned().unwrap_or_default();
        for r in &mut records {
            r["eventSourceARN"] = serde_json::Value::String(self.arn.clone());
        }
        let event = serde_json::json!({"Records": records});
        let parsed = serde_json::from_value(event.clone()).expect("a DynamoDB stream event");
        (event, parsed)
    }
}

/// Raw messages moto's SES accepted for `to`, oldest first.
pub async fn sent_mail(to: &str) -> Vec<Vec<u8>> {
    let data: serde_json::Value = reqwest::get(format!("{}/moto-api/data.json", moto_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destinations"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == to))
        })
        .map(|m| m["raw_data"].as_str().unwrap().as_bytes().to_vec())
        .collect()
}

/// Texts moto's SNS accepted for `number` (E.164), oldest first. moto
/// keeps them across accounts and regions: numbers must be unique per test.
pub async fn sent_texts(number: &str) -> Vec<String> {
    let data: serde_json::Value = reqwest::get(format!("{}/moto-api/data.json", moto_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["sns"]["SMS"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["phone_number"] == number)
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect()
}

/// A fresh E.164 number in the +1 555 range. It never ends in 99: moto
/// reports those as opted out (`opted_out_number` is one).
pub fn unique_phone() -> rekey::domain::PhoneNumber {
    let digits: String = uuid::Uuid::new_v4()
        .as_u128()
        .to_string()
        .chars()
        .take(7)
        .collect();
    let digits = if digits.ends_with("99") {
        format!("{}42", &digits[..5])
    } else {
        digits
    };
    rekey::domain::PhoneNumber::parse(&format!("+1555{digits}")).unwrap()
}

/// A fresh number moto's SNS says opted out of texts.
pub fn opted_out_number() -> rekey::domain::PhoneNumber {
    let n = unique_phone();
    rekey::domain::PhoneNumber::parse(&format!("{}99", &n.as_str()[..n.as_str().len() - 2]))
        .unwrap()
}

/// An SNS text sender on moto.
pub async fn sns_texter() -> rekey::sms::sns::SnsTexter {
    rekey::sms::sns::SnsTexter::new(
        aws_sdk_sns::Client::new(&aws_config().await),
        Some("Acme".into()),
        Some("+15555550123".into()),
    )
}

/// The decoded text part and subject of a MIME message.
pub fn text_and_subject(raw: &[u8]) -> (String, String) {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a MIME message");
    (
        msg.body_text(0).expect("a text part").to_string(),
        msg.subject().unwrap_or_default().to_string(),
    )
}

pub fn token_from_link_text(text: &str) -> String {
    text.split_whitespace()
        .find_map(|w| w.split("token=").nth(1))
        .expect("a link with token=")
        .to_string()
}

/// A DynamoDB store at a closed loopback port: every call fails after the
/// SDK's bounded retries, as in an outage.
pub async fn unreachable_store() -> DynamoStore {
    let config = rekey::aws::config_loader()
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "x", "x", None, None, "t",
        ))
        .load()
        .await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "absent")
}

/// An address request accepted and at once delivered, as the stream or the
/// local worker would deliver it: the grant and mail it issues are queued
/// when this returns.
pub async fn deliver_now(
    service: &rekey::ResetService,
    request: rekey::reset::AddressRequest,
    email: &EmailAddress,
    client: &rekey::domain::ClientInfo,
) {
    service
        .accept_address_request(request, email, client, None)
        .await
        .unwrap();
    service.drain_intake(500).await.unwrap();
}

/// One access-token signer for the whole test process (an RSA key takes a
/// moment to make): what apps that log users in sign with.
pub fn signer() -> Arc<dyn rekey::access_token::AccessTokenSigner> {
    static SIGNER: std::sync::OnceLock<Arc<rekey::access_token::local::LocalSigner>> =
        std::sync::OnceLock::new();
    SIGNER
        .get_or_init(|| Arc::new(rekey::access_token::local::LocalSigner::ephemeral().unwrap()))
        .clone()
}

/// A Secrets Manager client on moto.
pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws_config().await)
}

/// A new secret on moto holding `value` at AWSCURRENT; its ARN.
pub async fn moto_secret(prefix: &str, value: &str) -> String {
    secrets_client()
        .await
        .create_secret()
        .name(unique(prefix))
        .secret_string(value)
        .send()
        .await
        .expect("create a secret on moto")
        .arn
        .expect("moto answers the ARN")
}

/// A new version of `arn` at `stage` (AWSCURRENT moves the current one to
/// AWSPREVIOUS): moved with PutSecretValue, since moto's
/// UpdateSecretVersionStage leaves the unstaged default behind. Its
/// version id.
pub async fn put_secret_version(arn: &str, value: &str, stage: &str) -> String {
    secrets_client()
        .await
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .version_stages(stage)
        .send()
        .await
        .expect("put a secret version on moto")
        .version_id
        .expect("moto answers the version id")
}
