//! GET /.well-known/openid-configuration and /.well-known/jwks.json: OpenID
//! Connect Discovery and the access-token signing keys. No store and no
//! service secret: the issuer and the KMS keys' public halves
//! (kms:GetPublicKey through aws-sdk-kms, cached after the first call). The
//! documents live in
//! `rekey` (contract::discovery); this binary only wires them to the Lambda
//! runtime.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let discovery = rekey::wiring::discovery(&rekey::wiring::Environment::process())?;
    run(service_fn(|req: Request| async {
        let req = req;
        // As is: no re-encoding of the JSON body (see `rekey::http::AsIs`).
        Ok::<_, Error>(rekey::http::AsIs(
            rekey::contract::discovery::discovery(&discovery, &req).await,
        ))
    }))
    .await
}
