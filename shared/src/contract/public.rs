//! The preamble every public (keyless) route shares: the per-source limit
//! first, so a limited caller is refused before its body is looked at.

use lambda_http::Request;
use serde::de::DeserializeOwned;

use super::Failure;
use crate::App;
use crate::domain::ClientInfo;
use crate::http;
use crate::reset::ResetError;
use crate::routes::Function;

/// Who is calling `function`, once within its per-source limit.
pub(crate) async fn public_caller(
    app: &App,
    function: Function,
    req: &Request,
) -> Result<ClientInfo, ResetError> {
    let client = http::client_info(req, app.edge_secret());
    app.limits.limit_source(function, &client).await?;
    Ok(client)
}

/// A public JSON request: the caller within its source limit, then the body.
pub(crate) async fn public_json<T: DeserializeOwned>(
    app: &App,
    function: Function,
    req: &Request,
) -> Result<(ClientInfo, T), Failure> {
    let client = public_caller(app, function, req).await?;
    let body = http::json_body(req)?;
    Ok((client, body))
}
