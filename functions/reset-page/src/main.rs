//! GET /reset, /account/reset, /reset/app.js, /reset/app.css: the hosted
//! reset page. No store, no AWS SDK client; of the configuration only the
//! continue link (`REKEY_CONTINUE_URL`), read once here. The page lives in
//! `rekey` (contract::page); this binary only wires it to the Lambda runtime.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    rekey::telemetry::init_lambda();
    let page = rekey::wiring::reset_page(&rekey::wiring::Environment::process())?;
    run(service_fn(|req: Request| async {
        let req = req;
        Ok::<_, Error>(rekey::contract::page::reset_page(&page, &req))
    }))
    .await
}
