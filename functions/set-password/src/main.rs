//! POST /v2/users/{userId}/password and the Connect path /zitadel.user.v2.UserService/SetPassword (Zitadel). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime.

use lambda_http::{Error, run, service_fn};
use rekey::routes::Function;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::App::from_env().await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(Function::SetPassword.handle(&app, req).await)
    }))
    .await
}
