//! GET /auth/reset/validate (Unleash). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime, calling it directly so the link keeps no other
//! contract's code.

use lambda_http::{Error, run, service_fn};
use rekey::contract::unleash::validate_token;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::validate_token(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(validate_token(&app, req).await)
    }))
    .await
}
