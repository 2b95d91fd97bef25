//! `Function::handle`: the request handed to the function's one operation,
//! generated from the functions' declaration (`routes::declaration`). The
//! local server and the tests dispatch through it; a Lambda's `main.rs`
//! calls its operation directly, so its binary links no other contract.

use lambda_http::{Body, Request, Response};

use crate::App;
use crate::routes::{Function, function_table};

/// The call of an operation, by what it serves.
macro_rules! call {
    (app, $op:path, $app:expr, $req:expr) => {
        $op($app, $req).await
    };
    (page, $op:path, $app:expr, $req:expr) => {
        $op(&$app.page(), &$req)
    };
    (discovery, $op:path, $app:expr, $req:expr) => {
        $op(&$app.discovery(), &$req).await
    };
    // The stream's consumer serves no route: a request never reaches it.
    (stream, $op:path, $app:expr, $req:expr) => {
        crate::http::json_response(404, &serde_json::json!({ "error": "not_found" }))
    };
}

/// Takes each entry's variant and operation; the rest of the entry
/// (routes, features) is `Function`'s.
macro_rules! dispatch {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident {
            name: $name:literal,
            operation: $first:ident $(:: $segment:ident)+ ($serves:ident),
            $($rest:tt)*
        },
    )+) => {
        impl Function {
            /// Hands the request to the function's one operation.
            pub async fn handle(self, app: &App, req: Request) -> Response<Body> {
                match self {
                    $(Function::$variant => call!($serves, crate::$first $(::$segment)+, app, req),)+
                }
            }
        }
    };
}

function_table!(dispatch);
