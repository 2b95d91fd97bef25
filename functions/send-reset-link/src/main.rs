//! POST /api/v1/iam/accounts/send-reset-password-link/ (django-rest-registration). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime, calling it directly so the link keeps no other
//! contract's code.

use lambda_http::{Error, run, service_fn};
use rekey::contract::django::send_reset_link;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::send_reset_link(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(send_reset_link(&app, req).await)
    }))
    .await
}
