//! POST /api/v1/iam/accounts/reset-password/ (django-rest-registration). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime, calling it directly so the link keeps no other
//! contract's code.

use lambda_http::{Error, run, service_fn};
use rekey::contract::django::reset_password_signed;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::reset_password_signed(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(reset_password_signed(&app, req).await)
    }))
    .await
}
