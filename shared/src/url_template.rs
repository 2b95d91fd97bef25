//! Link templates: where the links in reset mail point.
//!
//! `LinkTemplate` is the operator's: `{name}` placeholders, configured per
//! deployment. `CodeUrlTemplate` is a Zitadel client's: Go-template
//! placeholders (`{{.UserID}}`, `{{.Code}}`, `{{.OrgID}}`) sent with a
//! request, so it is parsed strictly and its origin checked against an
//! allow-list before any mail is sent.

use url::Url;

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The scheme, host and port of an http(s) URL: `https://app.example.com`.
pub fn origin(raw: &str) -> Option<String> {
    let url = Url::parse(raw).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then(|| url.origin().ascii_serialization())
        .filter(|o| o != "null")
}

/// The one origin a template's links go to, whatever values fill it: None
/// when some value (empty, a word, a host name) would change or remove it.
/// The URL standard forgives much (extra slashes, backslashes, userinfo), so
/// this renders rather than reasons about where a placeholder stands.
fn fixed_origin(render: impl Fn(&str) -> String) -> Option<String> {
    let first = origin(&render("u"))?;
    ["", "x", "evil.example.net", "8080", "a-b"]
        .iter()
        .all(|v| origin(&render(v)).as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The link as the URL standard reads it (url::Url's serialisation): tabs
/// and newlines a template holds are dropped and spaces percent-encoded, as a
/// browser would, so the mail's text shows the link the browser opens. A
/// template that parsed at configuration parses with any encoded value; were
/// it not to, the mail gets the template's origin, never the raw text.
fn normalised(rendered: String, origin: &str) -> String {
    Url::parse(&rendered)
        .map(String::from)
        .unwrap_or_else(|_| format!("{origin}/"))
}

/// An http(s) URL with `{name}` placeholders, each required one exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTemplate {
    raw: String,
    origin: String,
}

/// Why an operator's link template is refused (named in the
/// configuration error with its variable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkTemplateError {
    #[error("{raw:?} must contain the placeholder {{{placeholder}}} exactly once")]
    PlaceholderCount { raw: String, placeholder: String },
    #[error("{raw:?} has an unknown placeholder: only {known} are filled in")]
    UnknownPlaceholder { raw: String, known: String },
    #[error("{raw:?} is not an http or https URL")]
    NotHttp { raw: String },
    #[error("{raw:?} has a placeholder in its scheme, host or port: links could go anywhere")]
    PlaceholderInOrigin { raw: String },
}

impl LinkTemplate {
    pub fn parse(raw: &str, placeholders: &[&str]) -> Result<Self, LinkTemplateError> {
        for p in placeholders {
            if raw.matches(&format!("{{{p}}}")).count() != 1 {
                return Err(LinkTemplateError::PlaceholderCount {
                    raw: raw.to_string(),
                    placeholder: p.to_string(),
                });
            }
        }
        let mut sample = raw.to_string();
        for p in placeholders {
            sample = sample.replace(&format!("{{{p}}}"), "x");
        }
        if sample.contains(['{', '}']) {
            return Err(LinkTemplateError::UnknownPlaceholder {
                raw: raw.to_string(),
                known: placeholders
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if origin(&sample).is_none() {
            return Err(LinkTemplateError::NotHttp {
                raw: raw.to_string(),
            });
        }
        let fill = |value: &str| {
            placeholders.iter().fold(raw.to_string(), |acc, p| {
                acc.replace(&format!("{{{p}}}"), &encode(value))
            })
        };
        let origin = fixed_origin(fill).ok_or_else(|| LinkTemplateError::PlaceholderInOrigin {
            raw: raw.to_string(),
        })?;
        Ok(Self {
            raw: raw.to_string(),
            origin,
        })
    }

    /// Fills in the placeholders, URL-encoding each value; the normalised
    /// URL.
    pub fn render(&self, values: &[(&str, &str)]) -> String {
        let rendered = values.iter().fold(self.raw.clone(), |acc, (name, value)| {
            acc.replace(&format!("{{{name}}}"), &encode(value))
        });
        normalised(rendered, &self.origin)
    }

    pub fn origin(&self) -> String {
        self.origin.clone()
    }

    /// A template on the origin of one that passed [`LinkTemplate::parse`]:
    /// rekey's default links, derived from `REKEY_RESET_URL`. `path` is
    /// rekey's own and starts with `/`, so whatever fills it stays in the
    /// path or query and the origin cannot move; parse's seven trial parses
    /// (about 90 000 instructions, at every function's init) are not needed.
    pub fn beside(checked: &LinkTemplate, path: &'static str) -> Self {
        debug_assert!(path.starts_with('/'));
        Self {
            raw: format!("{}{path}", checked.origin),
            origin: checked.origin.clone(),
        }
    }
}

/// Longest `urlTemplate` a client may send.
pub const MAX_CODE_URL_TEMPLATE: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CodeField {
    UserId,
    Code,
    OrgId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Text(String),
    Field(CodeField),
}

/// A Zitadel `urlTemplate`: `{{.UserID}}`, `{{.Code}}`, `{{.OrgID}}`, with
/// spaces allowed inside the braces; nothing else between `{{` and `}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeUrlTemplate {
    segments: Vec<Segment>,
    origin: String,
}

/// Why a client's `urlTemplate` is refused: the contract's 400 says it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeUrlTemplateError {
    #[error("urlTemplate is longer than {MAX_CODE_URL_TEMPLATE} characters")]
    TooLong,
    #[error("urlTemplate has an unmatched }}}}")]
    UnmatchedClose,
    #[error("urlTemplate has an unclosed {{{{")]
    Unclosed,
    #[error(
        "urlTemplate placeholder {{{{{0}}}}} is not one of {{{{.UserID}}}}, {{{{.Code}}}}, {{{{.OrgID}}}}"
    )]
    UnknownPlaceholder(String),
    #[error("urlTemplate is not an http or https URL")]
    NotHttp,
    #[error("urlTemplate placeholders may not stand in the scheme, host or port")]
    PlaceholderInOrigin,
}

/// The text and fields of a Zitadel template, in order.
fn segments(raw: &str) -> Result<Vec<Segment>, CodeUrlTemplateError> {
    let mut segments = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("{{") {
        if rest[..start].contains("}}") {
            return Err(CodeUrlTemplateError::UnmatchedClose);
        }
        segments.push(Segment::Text(rest[..start].to_string()));
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(CodeUrlTemplateError::Unclosed)?;
        let field = match after[..end].trim() {
            ".UserID" => CodeField::UserId,
            ".Code" => CodeField::Code,
            ".OrgID" => CodeField::OrgId,
            other => {
                return Err(CodeUrlTemplateError::UnknownPlaceholder(other.to_string()));
            }
        };
        segments.push(Segment::Field(field));
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err(CodeUrlTemplateError::UnmatchedClose);
    }
    segments.push(Segment::Text(rest.to_string()));
    Ok(segments)
}

impl CodeUrlTemplate {
    pub fn parse(raw: &str) -> Result<Self, CodeUrlTemplateError> {
        if raw.len() > MAX_CODE_URL_TEMPLATE {
            return Err(CodeUrlTemplateError::TooLong);
        }
        let mut template = Self {
            segments: segments(raw)?,
            origin: String::new(),
        };
        if origin(&template.fill("u", "c", "o")).is_none() {
            return Err(CodeUrlTemplateError::NotHttp);
        }
        // No value may move the link: the origin is the same whatever
        // fills the placeholders.
        template.origin = fixed_origin(|v| template.fill(v, v, v))
            .ok_or(CodeUrlTemplateError::PlaceholderInOrigin)?;
        Ok(template)
    }

    /// rekey's default code link on the origin of a checked template (see
    /// [`LinkTemplate::beside`]).
    pub fn beside(
        checked: &LinkTemplate,
        path: &'static str,
    ) -> Result<Self, CodeUrlTemplateError> {
        debug_assert!(path.starts_with('/'));
        let mut segments = segments(path)?;
        if let Some(Segment::Text(first)) = segments.first_mut() {
            first.insert_str(0, &checked.origin);
        }
        Ok(Self {
            segments,
            origin: checked.origin.clone(),
        })
    }

    /// The link for these values: the normalised URL, never the client's
    /// text as sent.
    pub fn render(&self, user_id: &str, code: &str, org_id: &str) -> String {
        normalised(self.fill(user_id, code, org_id), &self.origin)
    }

    /// The template's text with the values in place (what the origin checks
    /// at parse time read through the URL parser).
    fn fill(&self, user_id: &str, code: &str, org_id: &str) -> String {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.clone(),
                Segment::Field(CodeField::UserId) => encode(user_id),
                Segment::Field(CodeField::Code) => encode(code),
                Segment::Field(CodeField::OrgId) => encode(org_id),
            })
            .collect()
    }

    /// The origin links from this template go to, whatever the values.
    pub fn origin(&self) -> String {
        self.origin.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_templates_check_placeholders_and_scheme() {
        let t = LinkTemplate::parse("https://a.example/r?token={token}", &["token"]).unwrap();
        assert_eq!(
            t.render(&[("token", "rkt_a b")]),
            "https://a.example/r?token=rkt_a+b"
        );
        assert_eq!(t.origin(), "https://a.example");
        assert!(LinkTemplate::parse("https://a.example/r", &["token"]).is_err());
        assert!(LinkTemplate::parse("https://a.example/{token}/{token}", &["token"]).is_err());
        assert!(LinkTemplate::parse("https://a.example/{token}?x={other}", &["token"]).is_err());
        assert!(LinkTemplate::parse("javascript:alert({token})", &["token"]).is_err());
        let s = LinkTemplate::parse(
            "http://h/r?u={user_id}&t={timestamp}&s={signature}",
            &["user_id", "timestamp", "signature"],
        );
        assert!(s.is_ok());
    }

    #[test]
    fn code_url_templates_accept_the_three_fields_with_spaces() {
        let t = CodeUrlTemplate::parse(
            "https://ex.com/p?userID={{.UserID}}&code={{ .Code }}&orgID={{.OrgID }}",
        )
        .unwrap();
        assert_eq!(
            t.render("u1", "AB12CD", "o&1"),
            "https://ex.com/p?userID=u1&code=AB12CD&orgID=o%261"
        );
        assert_eq!(t.origin(), "https://ex.com");
    }

    #[test]
    fn code_url_templates_refuse_anything_else() {
        for bad in [
            "https://ex.com/p?x={{.Email}}",
            "https://ex.com/p?x={{.Code}",
            "https://ex.com/p?x={{.Code}}}}",
            "https://ex.com/p?x=}}",
            "https://ex.com/p?x={{}}",
            "ftp://ex.com/{{.Code}}",
            "{{.Code}}",
        ] {
            assert!(CodeUrlTemplate::parse(bad).is_err(), "{bad} accepted");
        }
        let long = format!("https://ex.com/{}{{{{.Code}}}}", "a".repeat(190));
        assert!(
            CodeUrlTemplate::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("200")
        );
    }

    #[test]
    fn links_are_mailed_as_the_url_parser_reads_them() {
        // Tabs and newlines vanish in URL parsing, spaces are encoded: the
        // mail shows what the browser opens, not the template's text.
        let t = CodeUrlTemplate::parse(
            "https://ex.com/p?\tnote=click here\n&code={{.Code}}\r\n&x=\"><b>",
        )
        .unwrap();
        let link = t.render("u1", "AB12CD", "o1");
        assert_eq!(
            link,
            "https://ex.com/p?note=click%20here&code=AB12CD&x=%22%3E%3Cb%3E"
        );
        assert!(!link.contains(char::is_whitespace));
        assert_eq!(origin(&link).as_deref(), Some("https://ex.com"));
        let t =
            LinkTemplate::parse("https://A.example/r\t/ok?\ntoken={token} ", &["token"]).unwrap();
        assert_eq!(
            t.render(&[("token", "rkt_a b")]),
            "https://a.example/r/ok?token=rkt_a+b"
        );
    }

    #[test]
    fn templates_beside_a_checked_one_are_what_parsing_them_gives() {
        for origin in [
            "https://a.example",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
            "https://xn--bcher-kva.example",
        ] {
            let checked =
                LinkTemplate::parse(&format!("{origin}/r?t={{token}}"), &["token"]).unwrap();
            let path = "/account/reset?validation_code={token}";
            assert_eq!(
                LinkTemplate::beside(&checked, path),
                LinkTemplate::parse(&format!("{origin}{path}"), &["token"]).unwrap()
            );
            let path = "/reset/code?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}";
            let code = CodeUrlTemplate::beside(&checked, path).unwrap();
            assert_eq!(
                code,
                CodeUrlTemplate::parse(&format!("{origin}{path}")).unwrap()
            );
            assert_eq!(
                super::origin(&code.render("evil.example.net", "x", "@evil")),
                Some(checked.origin())
            );
        }
    }

    #[test]
    fn placeholders_cannot_touch_the_origin() {
        assert!(CodeUrlTemplate::parse("https://{{.UserID}}.ex.com/p").is_err());
        assert!(CodeUrlTemplate::parse("https://ex.com{{.Code}}").is_err());
        assert!(CodeUrlTemplate::parse("https://ex.com:{{.Code}}/").is_err());
        assert!(CodeUrlTemplate::parse("https://ex.com/{{.Code}}").is_ok());
        // The URL standard skips extra slashes: the host starts later.
        assert!(CodeUrlTemplate::parse("https:////{{.UserID}}/x").is_err());
        assert!(CodeUrlTemplate::parse("https:///{{.OrgID}}").is_err());
        assert!(CodeUrlTemplate::parse("https:///user:pw@app.example.com{{.UserID}}").is_err());
        assert!(LinkTemplate::parse("https://{token}.app.example.com/r", &["token"]).is_err());
        assert!(LinkTemplate::parse("https://127.0.0.1{token}", &["token"]).is_err());
        assert!(CodeUrlTemplate::parse("https://ex.com?c={{.Code}}").is_ok());
    }
}
