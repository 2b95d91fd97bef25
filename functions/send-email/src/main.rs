//! The table stream's consumer: address requests delivered through their
//! reset flow (which queues the mail), outbox items sent through SES v2,
//! failed items reported back for retry.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use rekey::mail::Outbox;
use rekey::mail::stream::{StreamEvent, consume_batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let outbox = Outbox::from_env().await?;
    let config = rekey::Config::from_env()?;
    let reset = rekey::ResetService::new(&config, outbox.store.clone());
    run(service_fn(|event: LambdaEvent<StreamEvent>| async {
        Ok::<_, Error>(consume_batch(&reset, &outbox, event.payload).await)
    }))
    .await
}
