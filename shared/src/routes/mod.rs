//! The route table: every (method, path, function) exactly once,
//! generated from the functions' declaration (`declaration.rs`). The local
//! server routes by it, and tests check template.yaml against it.

mod declaration;

pub(crate) use declaration::function_table;
pub use declaration::{Function, ROUTES};

/// One route of the HTTP API.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: Function,
}

impl Function {
    /// The HTTP functions: those with routes (every one but send-email).
    pub fn http() -> impl Iterator<Item = Function> {
        Function::ALL.into_iter().filter(|f| f.is_http())
    }

    /// Whether the function serves routes of the HTTP API.
    pub fn is_http(self) -> bool {
        self.routes().next().is_some()
    }

    /// Whether the function checks a new password against the policy: the
    /// functions built with the `pwned-passwords` feature, and the only
    /// ones that link the blocklist.
    pub fn checks_passwords(self) -> bool {
        self.features().contains(&"pwned-passwords")
    }

    /// Its routes.
    pub fn routes(self) -> impl Iterator<Item = &'static Route> {
        ROUTES.iter().filter(move |r| r.function == self)
    }
}

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
        // Every function but the stream's consumer serves the HTTP API.
        for f in Function::ALL {
            assert_eq!(
                ROUTES.iter().any(|r| r.function == f),
                f != Function::SendEmail,
                "{} has no route",
                f.name()
            );
        }
        assert_eq!(Function::http().count(), Function::ALL.len() - 1);
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
