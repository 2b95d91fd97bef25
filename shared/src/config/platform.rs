//! What Lambda and the AWS tooling put in the environment, read as they
//! define it: the region and endpoints the SDK clients use, and the log
//! settings of Lambda's `LoggingConfig`.

use super::EnvReader;

/// Region and endpoints for the Lambdas' SDK clients (rekeyctl loads the
/// SDK's whole default chain instead, `aws::sdk_config`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsEnvironment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_<SERVICE>`, by the SDK's service name.
    service_endpoints: Vec<(&'static str, String)>,
}

/// The SDK services rekey calls, by the name their endpoint variable uses.
pub const AWS_SERVICES: [&str; 5] = [
    "DYNAMODB",
    "SESV2",
    "KMS",
    "SQS",
    "COGNITO_IDENTITY_PROVIDER",
];

impl AwsEnvironment {
    pub fn read(env: &EnvReader<'_>) -> Self {
        let service_endpoint = |service: &'static str| {
            let name = match service {
                "DYNAMODB" => "AWS_ENDPOINT_URL_DYNAMODB",
                "SESV2" => "AWS_ENDPOINT_URL_SESV2",
                "KMS" => "AWS_ENDPOINT_URL_KMS",
                "SQS" => "AWS_ENDPOINT_URL_SQS",
                _ => "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            };
            env.optional(name).map(|url| (service, url))
        };
        Self {
            region: env
                .optional("AWS_REGION")
                .or_else(|| env.optional("AWS_DEFAULT_REGION")),
            endpoint_url: env.optional("AWS_ENDPOINT_URL"),
            service_endpoints: AWS_SERVICES
                .into_iter()
                .filter_map(service_endpoint)
                .collect(),
        }
    }

    /// The process environment's (reading it cannot fail).
    pub fn from_env() -> Self {
        Self::read(&EnvReader::process())
    }

    /// Where `service`'s requests go: `AWS_ENDPOINT_URL_<service>`, else
    /// `AWS_ENDPOINT_URL`, else (None) the SDK's regional endpoint.
    pub fn endpoint_for(&self, service: &str) -> Option<&str> {
        self.service_endpoints
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, url)| url.as_str())
            .or(self.endpoint_url.as_deref())
    }
}

/// How a Lambda logs, from Lambda's `LoggingConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// `AWS_LAMBDA_LOG_FORMAT=JSON`.
    pub json: bool,
    /// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`.
    pub level: String,
}

impl LogSettings {
    pub fn from_env() -> Self {
        let env = EnvReader::process();
        Self {
            json: env
                .optional("AWS_LAMBDA_LOG_FORMAT")
                .is_some_and(|f| f.eq_ignore_ascii_case("json")),
            level: env
                .optional("AWS_LAMBDA_LOG_LEVEL")
                .or_else(|| env.optional("RUST_LOG"))
                .unwrap_or_else(|| "info".to_string()),
        }
    }

    /// rekeyctl: `RUST_LOG`, else `info`.
    pub fn cli_level() -> String {
        EnvReader::process()
            .optional("RUST_LOG")
            .unwrap_or_else(|| "info".to_string())
    }
}

/// Whether this process runs in Lambda (`AWS_LAMBDA_FUNCTION_NAME` set):
/// metrics then go to stdout as CloudWatch embedded metric format.
pub fn in_lambda() -> bool {
    static IN_LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_LAMBDA.get_or_init(|| EnvReader::process().is_set("AWS_LAMBDA_FUNCTION_NAME"))
}
