//! The hosted reset page: `GET /reset` (the link in the mail), the same
//! page at `GET /account/reset` (where recovery links point by default),
//! its script `GET /reset/app.js` and its style `GET /reset/app.css`, all
//! served by the `reset-page` function.
//!
//! Never reads the store: a GET of the page can never consume (or even look
//! up) a token. The one setting it reads is the application it links to
//! after success (`REKEY_CONTINUE_URL`), fixed at init. The page's script
//! resets through `POST /auth/reset/password` (a token), the signed-link
//! route or, for a recovery link's `validation_code`,
//! `POST /api/v2/account/reset/`: the secret only ever in a POST body, never
//! in a URL (so not through `GET /auth/reset/validate?token=`).
//!
//! The script and the style are separate responses, so the page's
//! Content-Security-Policy allows only `'self'` and never `'unsafe-inline'`:
//! shared/assets/reset.html has no inline script, style or event handler
//! (checked by the tests below).

use lambda_http::{Body, Request, Response};

use crate::config::ContinueUrl;

/// Where token and signed links point.
pub const PAGE_PATH: &str = "/reset";
/// Where recovery links point unless `REKEY_RECOVER_URL` says otherwise:
/// the same page, so links already mailed there keep working.
pub const RECOVERY_PATH: &str = "/account/reset";
/// The page's script and style, routed to the same function.
pub const SCRIPT_PATH: &str = "/reset/app.js";
pub const STYLE_PATH: &str = "/reset/app.css";

pub const HTML: &str = include_str!("../../../assets/reset.html");
/// The strings first, then the code that uses them: one response.
pub const SCRIPT: &str = concat!(
    include_str!("../../../assets/reset-strings.js"),
    include_str!("../../../assets/reset.js")
);
pub const STYLE: &str = include_str!("../../../assets/reset.css");

/// The continue link as the static page has it: hidden, and without an
/// `href` until one is configured.
const CONTINUE_ANCHOR: &str = "<a id=\"continue\"";

/// No inline code, no framing, no third-party anything; the API calls go
/// to this origin only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'none'; font-src 'none'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers of every response of this function, besides Content-Type.
/// `no-referrer`: the link's token never leaves in a Referer header (nor
/// when the user follows the continue link);
/// `no-store`: the page (whose URL held the token) is never cached.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// The page's two HTML documents, rendered once from the configuration.
#[derive(Clone, Debug)]
pub struct Page {
    /// At `/reset`.
    html: String,
    /// At `/account/reset`: its script and style are one level up.
    recovery_html: String,
}

impl Default for Page {
    /// No continue link: exactly shared/assets/reset.html.
    fn default() -> Self {
        Self::new(None)
    }
}

impl Page {
    pub fn new(continue_url: Option<&ContinueUrl>) -> Self {
        let html = match continue_url {
            None => HTML.to_string(),
            Some(url) => HTML.replacen(
                CONTINUE_ANCHOR,
                &format!("{CONTINUE_ANCHOR} href=\"{}\"", attribute(url.as_str())),
                1,
            ),
        };
        let recovery_html = html.replace("\"reset/app.", "\"../reset/app.");
        Self {
            html,
            recovery_html,
        }
    }

    /// Which document `path` asks for. Matched by suffix, so a stage or
    /// base-path prefix in front of the routes changes nothing.
    fn document(&self, path: &str) -> (&str, &'static str) {
        if path.ends_with(SCRIPT_PATH) {
            (SCRIPT, "text/javascript; charset=utf-8")
        } else if path.ends_with(STYLE_PATH) {
            (STYLE, "text/css; charset=utf-8")
        } else if path.ends_with(RECOVERY_PATH) {
            (&self.recovery_html, "text/html; charset=utf-8")
        } else {
            (&self.html, "text/html; charset=utf-8")
        }
    }
}

/// `value` inside a double-quoted HTML attribute.
fn attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `GET /reset`, `GET /account/reset`, `GET /reset/app.js`,
/// `GET /reset/app.css`.
pub fn reset_page(page: &Page, req: &Request) -> Response<Body> {
    let (body, content_type) = page.document(req.uri().path());
    let mut resp = crate::http::response(200, Body::Text(body.to_string()));
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    resp
}

#[cfg(test)]
mod tests;
