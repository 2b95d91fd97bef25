//! The hosted reset page: `GET /reset` (the link in the mail), its script
//! `GET /reset/app.js` and its style `GET /reset/app.css`, all served by
//! the `reset-page` function.
//!
//! Static: the handler reads neither the store nor the configuration, so a
//! GET of the page can never consume (or even look up) a token. The page's
//! script checks the token through `GET /auth/reset/validate` and resets
//! through `POST /auth/reset/password` (or the signed-link route).
//!
//! The script and the style are separate responses, so the page's
//! Content-Security-Policy allows only `'self'` and never `'unsafe-inline'`:
//! shared/assets/reset.html has no inline script, style or event handler
//! (checked by the tests below).

use lambda_http::{Body, Request, Response};

/// The page's script and style, routed to the same function.
pub const SCRIPT_PATH: &str = "/reset/app.js";
pub const STYLE_PATH: &str = "/reset/app.css";

pub const HTML: &str = include_str!("../../assets/reset.html");
pub const SCRIPT: &str = include_str!("../../assets/reset.js");
pub const STYLE: &str = include_str!("../../assets/reset.css");

/// No inline code, no framing, no third-party anything; the API calls go
/// to this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'none'; font-src 'none'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers of every response of this function, besides Content-Type.
/// `no-referrer`: the link's token never leaves in a Referer header;
/// `no-store`: the page (whose URL held the token) is never cached.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Which of the three documents `path` asks for. Matched by suffix, so a
/// stage or base-path prefix in front of the routes changes nothing.
fn document(path: &str) -> (&'static str, &'static str) {
    if path.ends_with(SCRIPT_PATH) {
        (SCRIPT, "text/javascript; charset=utf-8")
    } else if path.ends_with(STYLE_PATH) {
        (STYLE, "text/css; charset=utf-8")
    } else {
        (HTML, "text/html; charset=utf-8")
    }
}

/// `GET /reset`, `GET /reset/app.js`, `GET /reset/app.css`.
pub fn serve(req: &Request) -> Response<Body> {
    let (body, content_type) = document(req.uri().path());
    let mut builder = Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, content_type);
    for (name, value) in SECURITY_HEADERS {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::Text(body.to_string()))
        .expect("static headers are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Response<Body> {
        let req = http::Request::builder()
            .method("GET")
            .uri(path)
            .body(Body::Empty)
            .unwrap();
        serve(&req)
    }

    fn text(resp: &Response<Body>) -> String {
        String::from_utf8(resp.body().as_ref().to_vec()).unwrap()
    }

    #[test]
    fn each_path_gets_its_document_and_the_same_strict_headers() {
        for (path, ct, body) in [
            ("/reset?token=rkt_x", "text/html; charset=utf-8", HTML),
            ("/reset", "text/html; charset=utf-8", HTML),
            (SCRIPT_PATH, "text/javascript; charset=utf-8", SCRIPT),
            (STYLE_PATH, "text/css; charset=utf-8", STYLE),
            (
                "/prod/reset/app.js",
                "text/javascript; charset=utf-8",
                SCRIPT,
            ),
        ] {
            let resp = get(path);
            assert_eq!(resp.status(), 200, "{path}");
            let h = resp.headers();
            assert_eq!(h["content-type"], ct, "{path}");
            assert_eq!(text(&resp), body, "{path}");
            assert_eq!(h.len(), SECURITY_HEADERS.len() + 1, "{path}: {h:?}");
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(h.get_all(name).iter().count(), 1, "{path}: one {name}");
                assert_eq!(h[name], value, "{path}: {name}");
            }
        }
    }

    #[test]
    fn the_policy_is_exactly_the_strict_one() {
        let directives: Vec<&str> = CONTENT_SECURITY_POLICY.split("; ").collect();
        assert_eq!(
            directives,
            [
                "default-src 'none'",
                "script-src 'self'",
                "style-src 'self'",
                "connect-src 'self'",
                "img-src 'none'",
                "font-src 'none'",
                "form-action 'self'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            ]
        );
        for forbidden in [
            "unsafe-inline",
            "unsafe-eval",
            "unsafe-hashes",
            "*",
            "data:",
            "http",
        ] {
            assert!(
                !CONTENT_SECURITY_POLICY.contains(forbidden),
                "the policy allows {forbidden}"
            );
        }
    }

    #[test]
    fn the_page_has_no_inline_script_style_or_handler() {
        let lower = HTML.to_ascii_lowercase();
        // Exactly one script element, external, and one stylesheet link.
        assert_eq!(lower.matches("<script").count(), 1);
        assert!(lower.contains("<script src=\"reset/app.js\" defer></script>"));
        assert_eq!(lower.matches("<link").count(), 1);
        assert!(lower.contains("<link rel=\"stylesheet\" href=\"reset/app.css\">"));
        assert!(!lower.contains("<style"), "inline <style>");
        assert!(!lower.contains(" style="), "inline style attribute");
        assert!(!lower.contains("javascript:"), "javascript: URL");
        // No on* event handler attribute.
        for (at, _) in lower.match_indices(" on") {
            let rest = &lower[at + 3..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            assert!(
                !rest[name.len()..].starts_with('='),
                "inline event handler on{name}="
            );
        }
        // Nothing from another origin.
        for external in ["http://", "https://", "//"] {
            assert!(
                !lower
                    .replace("<!--", "")
                    .contains(&format!("=\"{external}")),
                "external reference {external}"
            );
        }
    }

    #[test]
    fn the_script_strips_the_secrets_from_the_address_bar_first() {
        let replace = SCRIPT
            .find("history.replaceState")
            .expect("the script calls history.replaceState");
        for call in ["fetch(", "api("] {
            if let Some(first) = SCRIPT.find(call) {
                assert!(replace < first, "{call} before replaceState");
            }
        }
        // Relative URLs only: the page works under any base path.
        for path in [
            "\"auth/reset/validate",
            "\"auth/reset/password\"",
            "\"auth/reset/validate-password\"",
            "\"api/v1/iam/accounts/reset-password/\"",
        ] {
            assert!(SCRIPT.contains(path), "the script calls {path}");
        }
        // Never sinks that parse HTML.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!SCRIPT.contains(sink), "the script uses {sink}");
        }
        // Localised in the four languages of the mail.
        for lang in ["en:", "de:", "fr:", "es:"] {
            assert!(SCRIPT.contains(lang), "no {lang} strings");
        }
    }
}
