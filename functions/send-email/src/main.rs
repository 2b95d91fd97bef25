//! The table stream's consumer: address requests delivered through their
//! reset flow (which queues the mail), outbox items sent through SES v2
//! (and webhooks through their endpoints), failed items reported back for
//! retry. Also the consumer of the webhook retry queue (SQS).

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use rekey::delivery::stream::{StreamEvent, consume_batch};
use rekey::webhook::sqs::{consume_retries, is_retry_batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let rekey::wiring::SendEmail { reset, outbox } =
        rekey::wiring::send_email(&rekey::wiring::environment().await?)?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| async {
        let payload = event.payload;
        let response = if is_retry_batch(&payload) {
            let batch = serde_json::from_value(payload)?;
            serde_json::to_value(consume_retries(outbox.webhooks.as_deref(), batch).await)?
        } else {
            let batch: StreamEvent = serde_json::from_value(payload)?;
            serde_json::to_value(consume_batch(&reset, &outbox, batch).await)?
        };
        Ok::<_, Error>(response)
    }))
    .await
}
