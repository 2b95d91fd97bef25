//! The operator's link templates (`{token}`; `{user_id}`, `{timestamp}`,
//! `{signature}`) on arbitrary strings, rendered with arbitrary values:
//! never a panic, every placeholder filled in, and the rendered link keeps
//! the template's origin.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rekey::url_template::{LinkTemplate, origin};

/// The input is a flag byte (odd: the signed-link template with three
/// placeholders), then the template and up to three values split at 0xFF
/// bytes (never part of UTF-8), so seeds and dictionaries are plain text.
fn parts<const N: usize>(data: &[u8]) -> [String; N] {
    let mut split = data.split(|&b| b == 0xFF);
    std::array::from_fn(|_| String::from_utf8_lossy(split.next().unwrap_or_default()).into_owned())
}

fuzz_target!(|data: &[u8]| {
    let [flag, data @ ..] = data else {
        return;
    };
    let signed = flag % 2 == 1;
    let [raw, a, b, c] = parts::<4>(data);
    let (raw, a, b, c) = (raw.as_str(), a.as_str(), b.as_str(), c.as_str());
    let names: &[&str] = if signed {
        &["user_id", "timestamp", "signature"]
    } else {
        &["token"]
    };
    let Ok(template) = LinkTemplate::parse(raw, names) else {
        return;
    };
    let values: Vec<(&str, &str)> = names.iter().copied().zip([a, b, c]).collect();
    let link = template.render(&values);
    for name in names {
        assert!(
            !link.contains(&format!("{{{name}}}")),
            "{name} left in {link:?}"
        );
    }
    let expected = template.origin();
    assert!(!expected.is_empty(), "{raw:?} has no origin");
    assert_eq!(
        origin(&link).as_deref(),
        Some(expected.as_str()),
        "{raw:?} rendered as {link:?}"
    );
});
