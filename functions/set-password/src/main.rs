//! POST /v2/users/{userId}/password and the Connect path /zitadel.user.v2.UserService/SetPassword (Zitadel). The operation lives in `rekey`; this binary only wires it to
//! the Lambda runtime, calling it directly so the link keeps no other
//! contract's code.

use lambda_http::{Error, run, service_fn};
use rekey::contract::zitadel::set_password;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::set_password(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(set_password(&app, req).await)
    }))
    .await
}
