//! POST /api/v2/account/reset/ (the account-reset contract: reset and log in). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime, calling it directly so the link keeps no other
//! contract's code.

use lambda_http::{Error, run, service_fn};
use rekey::contract::account::reset_account;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::reset_account(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(reset_account(&app, req).await)
    }))
    .await
}
