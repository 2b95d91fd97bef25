//! The route table: every (method, path, function) exactly once. The local
//! server routes by it, and tests check template.yaml against it.

use lambda_http::{Body, Request, Response};

use crate::App;
use crate::contract::{
    account, discovery, django, oauth, page, payabli, unleash, userinfo, zitadel,
};

/// One Lambda function of the HTTP API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    // Each variant is one crate under functions/ and one Lambda.
    RequestReset,
    ValidateToken,
    ResetPassword,
    ValidatePassword,
    RequestUserReset,
    SetPassword,
    SendResetLink,
    ResetPasswordSigned,
    RecoverAccount,
    ResetAccount,
    /// The hosted reset page (GET /reset, GET /account/reset, its script and
    /// style).
    ResetPage,
    /// OpenID Connect Discovery and the JWKS (no store, no secret).
    Discovery,
    /// The OAuth 2.0 token endpoint: password and refresh-token grants.
    OAuthToken,
    /// OAuth 2.0 token revocation (RFC 7009).
    OAuthRevoke,
    /// OpenID Connect userinfo: the account an access token speaks for.
    OAuthUserinfo,
}

impl Function {
    pub const ALL: [Function; 15] = [
        Function::RequestReset,
        Function::ValidateToken,
        Function::ResetPassword,
        Function::ValidatePassword,
        Function::RequestUserReset,
        Function::SetPassword,
        Function::SendResetLink,
        Function::ResetPasswordSigned,
        Function::RecoverAccount,
        Function::ResetAccount,
        Function::ResetPage,
        Function::Discovery,
        Function::OAuthToken,
        Function::OAuthRevoke,
        Function::OAuthUserinfo,
    ];

    /// The function's crate under functions/ and its name in template.yaml.
    pub fn name(self) -> &'static str {
        match self {
            Function::RequestReset => "request-reset",
            Function::ValidateToken => "validate-token",
            Function::ResetPassword => "reset-password",
            Function::ValidatePassword => "validate-password",
            Function::RequestUserReset => "request-user-reset",
            Function::SetPassword => "set-password",
            Function::SendResetLink => "send-reset-link",
            Function::ResetPasswordSigned => "reset-password-signed",
            Function::RecoverAccount => "recover-account",
            Function::ResetAccount => "reset-account",
            Function::ResetPage => "reset-page",
            Function::Discovery => "discovery",
            Function::OAuthToken => "oauth-token",
            Function::OAuthRevoke => "oauth-revoke",
            Function::OAuthUserinfo => "oauth-userinfo",
        }
    }
}

impl Function {
    /// Whether the function checks a new password against the policy: the
    /// functions built with the `pwned-passwords` feature (template.rs
    /// checks their manifests), and the only ones that link the blocklist.
    pub fn checks_passwords(self) -> bool {
        matches!(
            self,
            Function::ResetPassword
                | Function::ValidatePassword
                | Function::SetPassword
                | Function::ResetPasswordSigned
                | Function::ResetAccount
        )
    }
}

/// One table: the contract operation that serves each function. `handle`
/// dispatches by it (rekeyctl serve, tests); each function's main.rs calls
/// its operation directly, and shared/tests/integration/template.rs checks it is the
/// one `operation` names.
macro_rules! operations {
    ($($function:ident => $contract:ident::$op:ident),* $(,)?) => {
        impl Function {
            /// Hands the request to the function's one operation.
            pub async fn handle(self, app: &App, req: Request) -> Response<Body> {
                match self {
                    $(Function::$function => $contract::$op(app, req).await,)*
                    // Never the store; of the configuration, the continue link.
                    Function::ResetPage => {
                        page::serve(&page::Page::new(app.reset.links().continue_url.as_ref()), &req)
                    }
                    // The issuer and the signer's public keys only.
                    Function::Discovery => discovery::serve(&app.discovery(), &req).await,
                }
            }

            /// The operation's path under `rekey::contract`, e.g.
            /// "payabli::request_reset".
            pub fn operation(self) -> &'static str {
                match self {
                    $(Function::$function => concat!(stringify!($contract), "::", stringify!($op)),)*
                    Function::ResetPage => "page::serve",
                    Function::Discovery => "discovery::serve",
                }
            }
        }
    };
}

operations! {
    RequestReset => payabli::request_reset,
    ValidateToken => unleash::validate_token,
    ResetPassword => unleash::reset_password,
    ValidatePassword => unleash::validate_password,
    RequestUserReset => zitadel::password_reset,
    SetPassword => zitadel::set_password,
    SendResetLink => django::send_reset_link,
    ResetPasswordSigned => django::reset_password,
    RecoverAccount => account::recover,
    ResetAccount => account::reset,
    OAuthToken => oauth::token,
    OAuthRevoke => oauth::revoke,
    OAuthUserinfo => userinfo::userinfo,
}

#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: Function,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/api/User/authreset",
        function: Function::RequestReset,
    },
    Route {
        method: "GET",
        path: "/auth/reset/validate",
        function: Function::ValidateToken,
    },
    Route {
        method: "POST",
        path: "/auth/reset/password",
        function: Function::ResetPassword,
    },
    Route {
        method: "POST",
        path: "/auth/reset/validate-password",
        function: Function::ValidatePassword,
    },
    Route {
        method: "POST",
        path: "/v2/users/{userId}/password_reset",
        function: Function::RequestUserReset,
    },
    Route {
        method: "POST",
        path: "/zitadel.user.v2.UserService/PasswordReset",
        function: Function::RequestUserReset,
    },
    Route {
        method: "POST",
        path: "/v2/users/{userId}/password",
        function: Function::SetPassword,
    },
    Route {
        method: "POST",
        path: "/zitadel.user.v2.UserService/SetPassword",
        function: Function::SetPassword,
    },
    Route {
        method: "POST",
        path: "/api/v1/iam/accounts/send-reset-password-link/",
        function: Function::SendResetLink,
    },
    Route {
        method: "POST",
        path: "/api/v1/iam/accounts/reset-password/",
        function: Function::ResetPasswordSigned,
    },
    Route {
        method: "POST",
        path: "/api/v2/account/recover/",
        function: Function::RecoverAccount,
    },
    Route {
        method: "POST",
        path: "/api/v2/account/reset/",
        function: Function::ResetAccount,
    },
    Route {
        method: "GET",
        path: page::PAGE_PATH,
        function: Function::ResetPage,
    },
    Route {
        method: "GET",
        path: page::RECOVERY_PATH,
        function: Function::ResetPage,
    },
    Route {
        method: "GET",
        path: page::SCRIPT_PATH,
        function: Function::ResetPage,
    },
    Route {
        method: "GET",
        path: page::STYLE_PATH,
        function: Function::ResetPage,
    },
    Route {
        method: "GET",
        path: discovery::CONFIGURATION_PATH,
        function: Function::Discovery,
    },
    Route {
        method: "GET",
        path: discovery::JWKS_PATH,
        function: Function::Discovery,
    },
    Route {
        method: "POST",
        path: "/oauth/token",
        function: Function::OAuthToken,
    },
    Route {
        method: "POST",
        path: "/oauth/revoke",
        function: Function::OAuthRevoke,
    },
    Route {
        method: "GET",
        path: userinfo::PATH,
        function: Function::OAuthUserinfo,
    },
    Route {
        method: "POST",
        path: userinfo::PATH,
        function: Function::OAuthUserinfo,
    },
];

/// The function serving `method path`, with path parameters by name.
pub fn find(method: &str, path: &str) -> Option<(Function, Vec<(String, String)>)> {
    ROUTES.iter().find_map(|r| {
        if !r.method.eq_ignore_ascii_case(method) {
            return None;
        }
        match_path(r.path, path).map(|params| (r.function, params))
    })
}

/// `{name}` segments match any one non-empty segment.
fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut params = Vec::new();
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push((name.to_string(), ps.to_string()));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_resolve_by_method_and_path() {
        assert_eq!(
            find("POST", "/api/User/authreset").unwrap().0,
            Function::RequestReset
        );
        assert_eq!(
            find("get", "/auth/reset/validate").unwrap().0,
            Function::ValidateToken
        );
        assert!(find("GET", "/api/User/authreset").is_none());
        assert!(find("POST", "/api/User/authreset/x").is_none());
        assert_eq!(
            match_path("/v2/users/{userId}/password", "/v2/users/u1/password").unwrap(),
            vec![("userId".to_string(), "u1".to_string())]
        );
        assert!(match_path("/v2/users/{userId}/password", "/v2/users//password").is_none());
    }

    #[test]
    fn every_function_has_a_route() {
        for f in Function::ALL {
            assert!(
                ROUTES.iter().any(|r| r.function == f),
                "{} has no route",
                f.name()
            );
        }
    }

    #[test]
    fn each_route_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} listed twice",
                r.method,
                r.path
            );
        }
    }
}
