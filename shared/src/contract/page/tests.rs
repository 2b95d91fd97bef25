//! The page's documents and headers, and what its script must and must not do.
use super::*;

fn get(path: &str) -> Response<Body> {
    let req = http::Request::builder()
        .method("GET")
        .uri(path)
        .body(Body::Empty)
        .unwrap();
    reset_page(&Page::default(), &req)
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

fn get_from(page: &Page, path: &str) -> Response<Body> {
    let req = http::Request::builder()
        .method("GET")
        .uri(path)
        .body(Body::Empty)
        .unwrap();
    reset_page(page, &req)
}

#[test]
fn the_recovery_path_serves_the_page_with_its_assets_one_level_up() {
    for page in [
        Page::default(),
        Page::new(Some(
            &ContinueUrl::parse("https://app.example/", None).unwrap(),
        )),
    ] {
        for path in [
            "/account/reset?validation_code=rkt_x",
            "/prod/account/reset",
        ] {
            let resp = get_from(&page, path);
            assert_eq!(resp.status(), 200, "{path}");
            let h = resp.headers();
            assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
            assert_eq!(h.len(), SECURITY_HEADERS.len() + 1, "{path}: {h:?}");
            for (name, value) in SECURITY_HEADERS {
                assert_eq!(h[name], value, "{path}: {name}");
            }
            let body = text(&resp);
            // /account/reset + ../reset/app.js = /reset/app.js, the
            // routed script, under any prefix.
            assert!(body.contains("<script src=\"../reset/app.js\" defer></script>"));
            assert!(body.contains("<link rel=\"stylesheet\" href=\"../reset/app.css\">"));
            assert_eq!(
                body.replace("\"../reset/app.", "\"reset/app."),
                text(&get_from(&page, "/reset")),
                "{path}: otherwise the page at /reset"
            );
        }
    }
}

#[test]
fn the_continue_link_is_the_configured_url_and_only_that() {
    // Unconfigured: the anchor has no href, so the script never shows it.
    let plain = text(&get("/reset"));
    assert!(plain.contains("<a id=\"continue\" class=\"continue\" rel=\"noreferrer\""));
    assert!(!plain.contains(" href=\"http"));
    let url = ContinueUrl::parse("https://app.example/signed-in?from=reset&x=\"1\"", None).unwrap();
    let page = Page::new(Some(&url));
    for path in [
        "/reset?token=rkt_secret",
        "/account/reset?validation_code=rkt_secret",
    ] {
        let body = text(&get_from(&page, path));
        let at = body.find("<a id=\"continue\"").expect("the anchor");
        let anchor = &body[at..at + body[at..].find('>').unwrap()];
        assert_eq!(
            anchor,
            "<a id=\"continue\" href=\"https://app.example/signed-in?from=reset&amp;x=%221%22\" \
             class=\"continue\" rel=\"noreferrer\" data-i18n=\"continue\" hidden",
            "{path}"
        );
        assert!(
            !body.contains("rkt_secret"),
            "{path}: the query is not reflected"
        );
        assert_eq!(
            body.matches(" href=\"https://").count(),
            1,
            "{path}: one link out"
        );
    }
    // Script and style are the same documents whatever is configured.
    assert_eq!(text(&get_from(&page, SCRIPT_PATH)), SCRIPT);
    assert_eq!(text(&get_from(&page, STYLE_PATH)), STYLE);
}

#[test]
fn attribute_values_cannot_break_out_of_their_quotes() {
    assert_eq!(
        attribute(r#"a&b"c'd<e>f"#),
        "a&amp;b&quot;c&#39;d&lt;e&gt;f"
    );
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
fn the_script_strips_every_credential_and_keeps_no_recovery_tokens() {
    assert!(SCRIPT.contains(
        "[\"token\", \"user_id\", \"timestamp\", \"signature\", \"validation_code\"].forEach"
    ));
    // The recovery reset's answer (its access and refresh tokens) is
    // never read, let alone stored or shown.
    assert!(
        SCRIPT.contains("validation_code: credential.validation_code, password: password }, true)")
    );
    for kept in [
        "access_token",
        "refresh_token",
        "localStorage",
        "sessionStorage",
        "document.cookie",
    ] {
        assert!(!SCRIPT.contains(kept), "the script touches {kept}");
    }
    // Nothing navigates: the only way out is the server-rendered link.
    for navigation in [
        "location.href =",
        "location.assign",
        "location.replace",
        "window.open",
        ".href =",
    ] {
        assert!(
            !SCRIPT.contains(navigation),
            "the script navigates with {navigation}"
        );
    }
}

#[test]
fn no_url_the_script_builds_carries_a_secret() {
    // Every API call names its path as one literal: nothing is appended to
    // it (a query, a credential), so secrets travel in POST bodies only.
    let calls: Vec<&str> = SCRIPT.split("call(\"").skip(1).collect();
    assert!(calls.len() >= 4, "the script's API calls: {}", calls.len());
    for call in calls {
        let (method, rest) = call.split_once("\", \"").expect("call(method, path");
        let path_end = rest.find('"').expect("the path is a literal");
        let path = &rest[..path_end];
        assert!(
            !path.contains('?') && rest[path_end + 1..].starts_with([',', ')']),
            "{method} {path}: the URL is built from more than a literal"
        );
        assert_ne!(method, "GET", "a GET could only carry the link in its URL");
    }
    for leak in [
        "validate?",
        "?token=",
        "encodeURIComponent",
        "searchParams.set",
    ] {
        assert!(
            !SCRIPT.contains(leak),
            "the script builds a URL with {leak}"
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
        "\"auth/reset/password\"",
        "\"auth/reset/validate-password\"",
        "\"api/v1/iam/accounts/reset-password/\"",
        "\"api/v2/account/reset/\"",
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
