//! AWS SDK configuration: rekeyctl's (the SDK's default chain) and the
//! Lambdas' (the environment only), each on rekey's HTTPS client; and how
//! a failed SDK call is named.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::HttpConnectorSettings;

use crate::config::{AwsEnvironment, ConfigError};

/// `aws_config::defaults` with rekey's HTTPS client (the SDK crates are
/// built without their default client, so every loader starts here).
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client())
}

/// `crate::https`: hyper with rustls on ring and compiled-in trust
/// anchors, its request-path connector built now.
fn https_client() -> aws_types::sdk_config::SharedHttpClient {
    let timeouts = request_path_timeouts();
    let mut settings = HttpConnectorSettings::builder();
    settings.set_connect_timeout(timeouts.connect_timeout());
    settings.set_read_timeout(timeouts.read_timeout());
    crate::https::sdk_http_client(&settings.build())
}

fn request_path_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

fn request_path_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(3)
}

/// For rekeyctl: the SDK's whole default chain (profiles, SSO, web
/// identity, IMDS) for region and credentials, with the request path's
/// bounded time: no request waits on DynamoDB or SES longer than the
/// operation timeout; retries are the SDK's standard mode. Reads
/// `AWS_ENDPOINT_URL*` from the environment, and refuses a plain-http one
/// off this machine (`config::plain_http_refusal`); no network until a
/// request.
pub async fn sdk_config() -> Result<aws_config::SdkConfig, ConfigError> {
    AwsEnvironment::from_env()?;
    Ok(config_loader()
        .timeout_config(request_path_timeouts())
        .retry_config(request_path_retries())
        .load()
        .await)
}

/// For the Lambdas: region, credentials and endpoint from the environment
/// only, which is where Lambda (and `sam local invoke`, and `cargo lambda
/// watch` with exported credentials) puts them. Same timeouts and retries
/// as `sdk_config`. Not loading the default chain keeps its STS, SSO,
/// profile and IMDS code out of every function (about 1 MiB, see
/// docs/benchmarks.md). `service` is the SDK's env name ("DYNAMODB",
/// "SESV2"): `AWS_ENDPOINT_URL_<service>` wins over `AWS_ENDPOINT_URL`.
/// `aws` was read by `AwsEnvironment::read`, which refuses a plain-http
/// endpoint off this machine, so no client built here signs in clear.
///
/// Every client of one `aws` shares one base config, built by the first
/// call (at init): one HTTPS client (`crate::https`), one credentials
/// provider; each service's config is that one with its endpoint.
pub fn environment_sdk_config(aws: &AwsEnvironment, service: &str) -> aws_config::SdkConfig {
    let mut config = aws
        .sdk
        .0
        .get_or_init(|| environment_base_config(aws))
        .to_builder();
    config.set_endpoint_url(aws.endpoint_for(service).map(str::to_string));
    config.build()
}

fn environment_base_config(aws: &AwsEnvironment) -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_types::sdk_config::SharedCredentialsProvider;
    let mut config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .timeout_config(request_path_timeouts())
        .retry_config(request_path_retries());
    config.set_region(aws.region.clone().map(aws_config::Region::new));
    config.build()
}

/// `AwsEnvironment`'s base SDK config, once built: a cache, not part of
/// what the environment says (two environments read from the same
/// variables are equal whether or not either has built it).
#[derive(Clone, Debug, Default)]
pub struct SharedSdkConfig(std::sync::OnceLock<aws_config::SdkConfig>);

impl PartialEq for SharedSdkConfig {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SharedSdkConfig {}

/// What a failed SDK call was, by kind only: the error's code when it
/// looks like one AWS writes (`MessageRejected`, `Throttling`), else the
/// class of failure. Never the message: SES's `MessageRejected` lists the
/// recipients and SNS's `InvalidParameter` quotes the number, and whatever
/// holds the error (a log line, a metric) would carry them.
pub fn failure_kind<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    match e {
        SdkError::ServiceError(_) => match e.code() {
            Some(code) if is_error_code(code) => code.to_string(),
            Some(_) => "service error with an unrecognised code".to_string(),
            None => "service error without a code".to_string(),
        },
        SdkError::TimeoutError(_) => "timeout".to_string(),
        SdkError::DispatchFailure(_) => "dispatch failure".to_string(),
        SdkError::ResponseError(_) => "unreadable response".to_string(),
        SdkError::ConstructionFailure(_) => "request construction failure".to_string(),
        _ => "unknown SDK error".to_string(),
    }
}

/// An error code as AWS writes them: kept only if it looks like one, never
/// free text.
fn is_error_code(code: &str) -> bool {
    (1..=64).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(service: &str, vars: &[(&str, &str)]) -> aws_config::SdkConfig {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut env = crate::config::EnvReader::new(|name| vars.get(name).cloned());
        let aws = AwsEnvironment::read(&mut env);
        env.finish().expect("endpoints on this machine");
        environment_sdk_config(&aws, service)
    }

    /// What reading `vars` refuses, if anything.
    fn refused(vars: &[(&str, &str)]) -> Vec<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut env = crate::config::EnvReader::new(|name| vars.get(name).cloned());
        AwsEnvironment::read(&mut env);
        env.problems
    }

    #[test]
    fn plain_http_is_refused_off_this_machine() {
        for name in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_KMS",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        ] {
            for url in [
                "http://10.0.0.5:4566",
                "http://moto.internal:5000",
                "http://[2001:db8::1]:5000",
                "http://127.0.0.1.nip.io:5000",
                "ftp://127.0.0.1/",
            ] {
                let problems = refused(&[(name, url)]);
                assert_eq!(problems.len(), 1, "{name}={url}: {problems:?}");
                assert!(problems[0].starts_with(name), "{problems:?}");
            }
            assert!(refused(&[(name, "not a url")])[0].contains("not a URL"));
        }
        let problem = &refused(&[("AWS_ENDPOINT_URL", "http://10.0.0.5:4566")])[0];
        assert!(problem.contains("in clear"), "{problem}");
    }

    #[test]
    fn https_anywhere_and_http_on_this_machine_are_accepted() {
        for url in [
            "https://kms.eu-west-1.amazonaws.com",
            "https://10.0.0.5:4566",
            "http://127.0.0.1:5000",
            "http://localhost:5000",
            "http://LOCALHOST",
            "http://[::1]:5000",
            "http://host.docker.internal:5000",
        ] {
            assert_eq!(
                refused(&[("AWS_ENDPOINT_URL", url)]),
                Vec::<String>::new(),
                "{url}"
            );
        }
    }

    #[test]
    fn the_service_endpoint_wins_over_the_general_one() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ];
        let dynamo = config("DYNAMODB", &vars);
        assert_eq!(dynamo.endpoint_url(), Some("http://127.0.0.1:8000"));
        let ses = config("SESV2", &vars);
        assert_eq!(ses.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert_eq!(config("SESV2", &[]).endpoint_url(), None);
        assert_eq!(
            config("SESV2", &[("AWS_ENDPOINT_URL", "")]).endpoint_url(),
            None,
            "an empty variable (template.yaml's NoValue locally) is no endpoint"
        );
    }

    #[test]
    fn the_clients_of_one_environment_share_one_base_config_each_with_its_endpoint() {
        let vars: HashMap<String, String> = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
            ("AWS_REGION", "eu-west-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut env = crate::config::EnvReader::new(|name| vars.get(name).cloned());
        let aws = AwsEnvironment::read(&mut env);
        env.finish().expect("endpoints on this machine");
        let unbuilt = aws.clone();
        assert!(aws.sdk.0.get().is_none(), "nothing is built by reading");
        let dynamo = environment_sdk_config(&aws, "DYNAMODB");
        let base = aws.sdk.0.get().expect("built by the first client");
        assert_eq!(
            base.endpoint_url(),
            None,
            "the base names no service's endpoint"
        );
        let ses = environment_sdk_config(&aws, "SESV2");
        assert_eq!(dynamo.endpoint_url(), Some("http://127.0.0.1:8000"));
        assert_eq!(ses.endpoint_url(), Some("http://127.0.0.1:5000"));
        for c in [&dynamo, &ses] {
            assert_eq!(c.region().map(|r| r.as_ref()), Some("eu-west-1"));
            assert!(c.http_client().is_some() && c.credentials_provider().is_some());
        }
        assert_eq!(aws, unbuilt, "the cache is not part of what was read");
    }

    #[test]
    fn region_from_aws_region_then_aws_default_region() {
        let both = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-2"),
        ];
        assert_eq!(
            config("DYNAMODB", &both)
                .region()
                .map(|r| r.as_ref().to_string()),
            Some("eu-west-1".into())
        );
        let fallback = [("AWS_DEFAULT_REGION", "us-east-2")];
        assert_eq!(
            config("DYNAMODB", &fallback)
                .region()
                .map(|r| r.as_ref().to_string()),
            Some("us-east-2".into())
        );
        assert!(config("DYNAMODB", &[]).region().is_none());
    }

    #[test]
    fn bounded_time_and_credentials_from_the_environment() {
        let c = config("DYNAMODB", &[]);
        let timeouts = c.timeout_config().expect("timeouts set");
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(c.retry_config().map(|r| r.max_attempts()), Some(3));
        assert!(c.credentials_provider().is_some());
        assert!(c.http_client().is_some());
    }
}
