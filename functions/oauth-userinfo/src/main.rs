//! GET and POST /oauth/userinfo (OpenID Connect Core 5.3): the account an
//! access token speaks for. Verifies the token with the signing keys'
//! public halves (kms:GetPublicKey, cached after the first call) and reads
//! the account from the table. The operation lives in `rekey`; this binary
//! only wires it to the Lambda runtime.

use lambda_http::{Error, run, service_fn};
use rekey::contract::oauth::oauth_userinfo;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::oauth_userinfo(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(oauth_userinfo(&app, req).await)
    }))
    .await
}
