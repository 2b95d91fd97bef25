//! POST /oauth/revoke (OAuth 2.0 token revocation, RFC 7009). The operation
//! lives in `rekey`; this binary only wires it to the Lambda runtime,
//! calling it directly so the link keeps no other contract's code.

use lambda_http::{Error, run, service_fn};
use rekey::contract::oauth::oauth_revoke;

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let app = rekey::wiring::oauth_revoke(&rekey::wiring::environment().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(oauth_revoke(&app, req).await)
    }))
    .await
}
