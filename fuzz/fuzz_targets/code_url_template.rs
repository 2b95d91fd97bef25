//! Zitadel's `urlTemplate` on arbitrary strings, rendered with arbitrary
//! values: never a panic; over 200 bytes refused; only `{{.UserID}}`,
//! `{{.Code}}` and `{{.OrgID}}` accepted; and a rendered link always has the
//! origin `origin()` reports, the one checked against the allow-list, so no
//! value can move the link to another host.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rekey::url_template::{CodeUrlTemplate, MAX_CODE_URL_TEMPLATE, origin};

const FIELDS: [&str; 3] = [".UserID", ".Code", ".OrgID"];

/// An independent scan: every `{{...}}` holds one of the three fields, and
/// no `}}` stands alone.
fn only_known_placeholders(raw: &str) -> bool {
    let mut rest = raw;
    while let Some(start) = rest.find("{{") {
        if rest[..start].contains("}}") {
            return false;
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return false;
        };
        if !FIELDS.contains(&after[..end].trim()) {
            return false;
        }
        rest = &after[end + 2..];
    }
    !rest.contains("}}")
}

/// The input is the template, then the user id, code and org id, split at
/// 0xFF bytes (never part of UTF-8), so seeds and dictionaries are plain
/// text.
fn parts<const N: usize>(data: &[u8]) -> [String; N] {
    let mut split = data.split(|&b| b == 0xFF);
    std::array::from_fn(|_| String::from_utf8_lossy(split.next().unwrap_or_default()).into_owned())
}

fuzz_target!(|data: &[u8]| {
    let [raw, user, code, org] = parts::<4>(data);
    let (raw, user, code, org) = (raw.as_str(), user.as_str(), code.as_str(), org.as_str());
    let parsed = CodeUrlTemplate::parse(raw);
    if raw.len() > MAX_CODE_URL_TEMPLATE {
        assert!(parsed.is_err(), "{} bytes accepted", raw.len());
    }
    let Ok(template) = parsed else {
        return;
    };
    assert!(only_known_placeholders(raw), "{raw:?} accepted");
    let expected = template.origin();
    assert!(!expected.is_empty(), "{raw:?} has no origin");
    let link = template.render(user, code, org);
    assert_eq!(
        origin(&link).as_deref(),
        Some(expected.as_str()),
        "{raw:?} rendered as {link:?}"
    );
});
