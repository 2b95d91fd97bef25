//! POST /v2/users/{userId}/password_reset and the Connect path /zitadel.user.v2.UserService/PasswordReset (Zitadel). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime, calling it directly so the link keeps no other
//! contract's code.

use lambda_http::{Error, run, service_fn};
use rekey::contract::zitadel::request_user_reset;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::request_user_reset(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(request_user_reset(&app, req).await)
    }))
    .await
}
