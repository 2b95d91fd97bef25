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
    /// The SDK config (and HTTPS client) every client built from this
    /// environment derives from: built by the first, at init.
    #[cfg(feature = "aws-sdk")]
    pub(crate) sdk: crate::aws::SharedSdkConfig,
}

/// The SDK services rekey calls, by the name their endpoint variable uses.
pub const AWS_SERVICES: [&str; 6] = [
    "DYNAMODB",
    "SESV2",
    "KMS",
    "SQS",
    "COGNITO_IDENTITY_PROVIDER",
    "SECRETS_MANAGER",
];

impl AwsEnvironment {
    /// The region and endpoints; an endpoint the SDK must not sign
    /// requests to (`plain_http_refusal`) is a problem in `env`.
    pub fn read(env: &mut EnvReader<'_>) -> Self {
        let service_endpoint = |service: &'static str| {
            let name = match service {
                "DYNAMODB" => "AWS_ENDPOINT_URL_DYNAMODB",
                "SESV2" => "AWS_ENDPOINT_URL_SESV2",
                "KMS" => "AWS_ENDPOINT_URL_KMS",
                "SQS" => "AWS_ENDPOINT_URL_SQS",
                "SECRETS_MANAGER" => "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                _ => "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            };
            env.optional(name).map(|url| (name, service, url))
        };
        let endpoint_url = env.optional("AWS_ENDPOINT_URL");
        let service_endpoints: Vec<_> = AWS_SERVICES
            .into_iter()
            .filter_map(service_endpoint)
            .collect();
        let named = endpoint_url
            .iter()
            .map(|url| ("AWS_ENDPOINT_URL", url))
            .chain(service_endpoints.iter().map(|(name, _, url)| (*name, url)));
        let refused: Vec<String> = named
            .filter_map(|(name, url)| plain_http_refusal(name, url))
            .collect();
        env.problems.extend(refused);
        Self {
            region: env
                .optional("AWS_REGION")
                .or_else(|| env.optional("AWS_DEFAULT_REGION")),
            endpoint_url,
            service_endpoints: service_endpoints
                .into_iter()
                .map(|(_, service, url)| (service, url))
                .collect(),
            ..Self::default()
        }
    }

    /// The process environment's, or what is wrong with its endpoints
    /// (rekeyctl, whose SDK config reads them itself).
    pub fn from_env() -> Result<Self, super::ConfigError> {
        let mut env = EnvReader::process();
        let aws = Self::read(&mut env);
        env.finish()?;
        Ok(aws)
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

/// Why the SDK must not send requests to the endpoint `url` (the variable
/// `name`), or None: a plain `http://` endpoint carries the SigV4
/// `Authorization` header and the session token in clear, so it is allowed
/// only on this machine (`127.0.0.1`, `::1`, `localhost`) and at
/// `host.docker.internal`, which is how `sam local`'s containers reach the
/// host's moto. Any other scheme than https or http is refused too.
pub fn plain_http_refusal(name: &str, url: &str) -> Option<String> {
    let parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("{name}={url:?} is not a URL: {e}")),
    };
    let local = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(host)) => {
            host.eq_ignore_ascii_case("localhost")
                || host.eq_ignore_ascii_case("host.docker.internal")
        }
        None => false,
    };
    match parsed.scheme() {
        "https" => None,
        "http" if local => None,
        "http" => Some(format!(
            "{name}={url:?} is plain http to a host that is not this machine: the requests' \
             SigV4 signature and session token would cross the network in clear. Use https, \
             or http only to 127.0.0.1, ::1, localhost or host.docker.internal (moto, sam local)"
        )),
        other => Some(format!(
            "{name}={url:?}: the scheme {other} is not https (or http to this machine)"
        )),
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
