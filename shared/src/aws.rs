//! AWS SDK configuration shared by the DynamoDB store and the SES mailer.

use std::time::Duration;

/// Bounded time: no request waits on DynamoDB or SES longer than the
/// operation timeout; retries are the SDK's standard mode. Reads region,
/// credentials and `AWS_ENDPOINT_URL*` from the environment; no network.
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}
