//! A mail job rendered with the templates: the user's locale, the
//! values filled in once each, HTML-escaped in the HTML part.

use super::templates::{self, Templates};
use super::{MailJob, MailMessage, RenderedMail};
use crate::domain::UnixTime;

impl MailJob {
    /// Renders with the process's templates (see `templates::current`).
    pub fn render(&self, product: &str) -> RenderedMail {
        self.render_with(product, templates::current())
    }

    /// Renders in the user's stored locale, else the best match of the
    /// request's `Accept-Language`, else English.
    pub fn render_with(&self, product: &str, templates: &Templates) -> RenderedMail {
        let locale = templates.negotiate(self.locale.as_deref(), self.accept_language.as_deref());
        let t = |name: &str| templates.get(locale, name);
        let origin = |source_ip: &Option<String>| {
            source_ip
                .as_deref()
                .map(|ip| {
                    fill(t("origin"), &[("source_ip", ip.to_string())], |s| {
                        s.to_string()
                    })
                })
                .unwrap_or_default()
        };
        let (kind, vars): (&str, Vec<(&str, String)>) = match &self.message {
            MailMessage::ResetLink {
                link,
                code,
                requested_at,
                expires_at,
                source_ip,
            } => (
                "reset_link",
                vec![
                    ("link", link.clone()),
                    (
                        "code_line",
                        code.as_ref()
                            .map(|c| {
                                fill(t("reset_link.code"), &[("code", c.clone())], |s| {
                                    s.to_string()
                                })
                            })
                            .unwrap_or_default(),
                    ),
                    (
                        "expires_minutes",
                        (expires_at.seconds_since(*requested_at).max(60) / 60).to_string(),
                    ),
                    ("requested_at", format_time(*requested_at)),
                    ("origin", origin(source_ip)),
                ],
            ),
            MailMessage::PasswordChanged {
                changed_at,
                source_ip,
                ..
            } => (
                "password_changed",
                vec![
                    ("changed_at", format_time(*changed_at)),
                    ("origin", origin(source_ip)),
                ],
            ),
        };
        let all: Vec<(&str, String)> = [
            ("product", product.to_string()),
            ("name", self.name.clone()),
        ]
        .into_iter()
        .chain(vars)
        .collect();
        let plain = |s: &str| s.to_string();
        RenderedMail {
            to: self.to.clone(),
            // A header: no line breaks, whatever a template or value holds.
            subject: fill(t(&format!("{kind}.subject")), &all, plain)
                .replace(['\r', '\n'], " ")
                .trim()
                .to_string(),
            text: fill(t(&format!("{kind}.txt")), &all, plain),
            html: fill(t(&format!("{kind}.html")), &all, html_escape),
        }
    }
}

pub fn format_time(t: UnixTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(t.secs())
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_else(|| t.to_string())
}

/// Replaces each `{{key}}` of `vars` in one pass: a value that itself
/// contains `{{...}}` is never expanded again.
fn fill(template: &str, vars: &[(&str, String)], escape: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let key = after[..end].trim();
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (escape(v), end))
        });
        match value {
            Some((v, end)) => {
                out.push_str(&v);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
