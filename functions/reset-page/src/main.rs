//! GET /reset, /reset/app.js, /reset/app.css: the hosted reset page. Static:
//! no store, no configuration, no AWS SDK client. The page lives in `rekey`
//! (contract::page); this binary only wires it to the Lambda runtime.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    run(service_fn(|req: Request| async move {
        Ok::<_, Error>(rekey::contract::page::serve(&req))
    }))
    .await
}
