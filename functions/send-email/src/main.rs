//! The outbox's consumer: DynamoDB stream records of outbox items in,
//! mail out through SES v2, failed items reported back for retry.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use rekey::mail::Outbox;
use rekey::mail::stream::{StreamEvent, deliver_batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let outbox = Outbox::from_env().await?;
    run(service_fn(|event: LambdaEvent<StreamEvent>| async {
        Ok::<_, Error>(deliver_batch(&outbox, event.payload).await)
    }))
    .await
}
