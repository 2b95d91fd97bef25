//! POST /api/v2/account/recover/ (Recover an account, companion of seed 004). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime.

use lambda_http::{Error, run, service_fn};
use rekey::routes::Function;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::App::from_env().await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(Function::RecoverAccount.handle(&app, req).await)
    }))
    .await
}
