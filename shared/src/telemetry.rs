//! Logging setup. Our log lines carry user ids and keyed email references,
//! never tokens, codes, passwords or addresses. Dependencies are capped
//! too: at TRACE the AWS SDK and the HTTP stack log raw bodies (user
//! records, mail), so they never log below DEBUG whatever the level asked.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// Crates whose TRACE output includes request or response bodies.
const BODY_LOGGING_CRATES: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_types",
    "aws_sdk_dynamodb",
    "aws_sdk_sesv2",
    "aws_config",
    "aws_runtime",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// The runtime's own crates log whole events (headers, bodies) below INFO.
const EVENT_LOGGING_CRATES: &[&str] =
    &["lambda_runtime", "lambda_runtime_api_client", "lambda_http"];

fn body_cap() -> Targets {
    let capped = BODY_LOGGING_CRATES
        .iter()
        .fold(Targets::new().with_default(Level::TRACE), |t, c| {
            t.with_target(*c, Level::DEBUG)
        });
    EVENT_LOGGING_CRATES
        .iter()
        .fold(capped, |t, c| t.with_target(*c, Level::INFO))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber: `directives` as `target=level` pairs and
/// a default level (e.g. "info" or "rekey=debug,warn"), capped as above.
/// `Targets` rather than `EnvFilter`: the same syntax for what we use,
/// without the regex engine in every binary.
pub fn init<W>(format: LogFormat, directives: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = directives
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(Level::INFO));
    let registry = tracing_subscriber::registry().with(filter).with(body_cap());
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(writer)
                    .with_current_span(false),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_target(false)
                    .with_ansi(false),
            )
            .try_init(),
    };
}

/// For the Lambdas: JSON when the function's logging config says so
/// (`AWS_LAMBDA_LOG_FORMAT=JSON`), level from `AWS_LAMBDA_LOG_LEVEL` or
/// `RUST_LOG`, default INFO; to stdout, which Lambda sends to CloudWatch.
pub fn init_lambda() {
    let settings = crate::config::LogSettings::from_env();
    init(
        if settings.json {
            LogFormat::Json
        } else {
            LogFormat::Text
        },
        &settings.level.to_lowercase(),
        std::io::stdout,
    );
}

/// For rekeyctl: text lines on stderr, `RUST_LOG` to filter (default
/// `info`). stdout stays free for command output.
pub fn init_cli() {
    init(
        LogFormat::Text,
        &crate::config::LogSettings::cli_level(),
        std::io::stderr,
    );
}
