//! The password check's cost on adversarial inputs, beside zxcvbn's (what
//! rekey ran before issue 22) on the same inputs: scripts/bench's
//! worst-case table. Prints one JSON object a line.
//!
//!   cargo run --release -p rekey --example password_worst_case
//!
//! Each input goes through what a request pays: NFKC normalisation and
//! every rule of the profile (blocklist, estimate, context words), with
//! the longest maximum any configuration allows (1024 characters). zxcvbn
//! is fed what the old check fed it: the first 100 characters.

use std::time::{Duration, Instant};

use rekey::password::{
    ABSOLUTE_MAX_LENGTH, NewPassword, PasswordContext, PasswordPolicies, Profile,
};

/// Dense in l33t substitutions: zxcvbn enumerates their combinations.
const CRAFTED: &str = "4@8({[</369&#!1/|0$5+7%2";

fn cut(unit: &str, chars: usize) -> String {
    unit.chars().cycle().take(chars).collect()
}

fn inputs() -> Vec<(&'static str, String)> {
    vec![
        ("typical: 22 characters", "Fresh-Horse-42-Battery".into()),
        (
            "typical: passphrase, 28 characters",
            "correct horse battery staple".into(),
        ),
        ("l33t-dense, 16", cut(CRAFTED, 16)),
        ("l33t-dense, 32", cut(CRAFTED, 32)),
        ("l33t-dense, 100", cut(CRAFTED, 100)),
        ("l33t-dense, 128 (default maximum)", cut(CRAFTED, 128)),
        ("l33t-dense, 1024 (maximum allowed)", cut(CRAFTED, 1024)),
        ("l33t word repeated, 1024", cut("p@55w0rd", 1024)),
        ("one character repeated, 1024", "a".repeat(1024)),
        (
            "keyboard walk, 1024",
            cut("qwertyuiop[]asdfghjkl;'zxcvbnm,./", 1024),
        ),
        (
            "keyboard columns, 1024",
            cut("1qaz2wsx3edc4rfv5tgb6yhn7ujm", 1024),
        ),
        (
            "sequences, 1024",
            cut("abcdefghijklmnopqrstuvwxyz0123456789", 1024),
        ),
        ("dates, 1024", cut("1984-05-12/", 1024)),
        ("long Unicode, 1024 (é ß Σ ﬃ)", cut("éßΣ\u{FB03}ⅻ", 1024)),
        // 16 KiB body of a character NFKC expands 18-fold: refused by length.
        (
            "NFKC expansion, 16 KiB body",
            "\u{FDFA}".repeat(16 * 1024 / 3),
        ),
    ]
}

fn time<R>(runs: usize, mut f: impl FnMut() -> R) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() - 1])
}

fn main() {
    let mut policies = PasswordPolicies::new("rekey");
    policies.default.max_length = ABSOLUTE_MAX_LENGTH;
    let who = PasswordContext {
        email: Some("ada.lovelace@example.com"),
        name: Some("Ada Lovelace"),
    };
    let zxcvbn_runs: usize = std::env::var("ZXCVBN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for (name, raw) in inputs() {
        let (p50, max) = time(200, || {
            policies.check(Profile::Nist, &NewPassword::normalize(&raw), who)
        });
        let rules: Vec<&str> = policies
            .check(Profile::Nist, &NewPassword::normalize(&raw), who)
            .iter()
            .map(|v| v.rule.name())
            .collect();
        let prefix: String = NewPassword::normalize(&raw)
            .expose()
            .chars()
            .take(100)
            .collect();
        let (z50, zmax) = time(zxcvbn_runs, || zxcvbn::zxcvbn(&prefix, &["ada.lovelace"]));
        println!(
            "{}",
            serde_json::json!({
                "input": name,
                "chars": raw.chars().count(),
                "p50_ms": p50.as_secs_f64() * 1e3,
                "max_ms": max.as_secs_f64() * 1e3,
                "rules": rules,
                "zxcvbn_p50_ms": z50.as_secs_f64() * 1e3,
                "zxcvbn_max_ms": zmax.as_secs_f64() * 1e3,
            })
        );
    }
}
