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
        // The most list look-ups (a SHA-1 each) per character: letter runs
        // of exactly four, l33t in them, and blocks repeated with a break.
        ("letter runs of four, l33t, 1024", cut("4bcd-", 1024)),
        (
            "repeated blocks with breaks, 1024",
            cut("abcdefghijklabcdefghijkl-", 1024),
        ),
        // Case folding doubles it (ß -> ss) after NFKC.
        ("case folding expansion, 1024 (ß)", "ß".repeat(1024)),
        // 1024 characters once NFKC has expanded ﬃ and ⅻ; folding then
        // expands ß again.
        (
            "long Unicode, 1024 after NFKC (é ß Σ ﬃ ⅻ)",
            cut(NewPassword::normalize("éßΣ\u{FB03}ⅻ").expose(), 1024),
        ),
        // A 16 KiB body of combining marks of two classes: NFKC reorders
        // them (a sort, n log n at worst); refused by length.
        (
            "combining marks, 16 KiB body",
            format!("a{}", "\u{301}\u{316}".repeat(16 * 1024 / 4 - 1)),
        ),
        // 16 KiB body of a character NFKC expands 18-fold: refused by length.
        (
            "NFKC expansion, 16 KiB body",
            "\u{FDFA}".repeat(16 * 1024 / 3),
        ),
    ]
}

/// This thread's CPU time: what a run costs, whoever else the scheduler
/// ran in between. std has no thread CPU clock; libc's is the one call.
#[expect(
    unsafe_code,
    reason = "clock_gettime through libc, in a dev-only example"
)]
fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

struct Timing {
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// The most CPU time one run took.
    cpu_max: Duration,
}

/// Wall-clock median, 99th percentile and slowest of `runs` calls, and
/// the most CPU time one took.
fn time<R>(runs: usize, mut f: impl FnMut() -> R) -> Timing {
    let (mut wall, mut cpu_max) = (Vec::with_capacity(runs), Duration::ZERO);
    for _ in 0..runs {
        let (start, cpu) = (Instant::now(), thread_cpu());
        std::hint::black_box(f());
        let (elapsed, used) = (start.elapsed(), thread_cpu() - cpu);
        wall.push(elapsed);
        cpu_max = cpu_max.max(used);
    }
    wall.sort();
    let n = wall.len();
    Timing {
        p50: wall[n / 2],
        p99: wall[(n * 99 / 100).min(n - 1)],
        max: wall[n - 1],
        cpu_max,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
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
    // zxcvbn builds its dictionaries on first use (about 13 ms): not a
    // cost of the first input.
    zxcvbn::zxcvbn("warm-up", &[]);
    for (name, raw) in inputs() {
        let check = time(200, || {
            policies.check(Profile::Nist, &NewPassword::normalize(&raw), who)
        });
        let rules: Vec<&str> = policies
            .check(Profile::Nist, &NewPassword::normalize(&raw), who)
            .iter()
            .map(|v| v.rule.name())
            .collect();
        // The old check refused an oversized password before zxcvbn.
        let normalized = NewPassword::normalize(&raw);
        let zxcvbn_ran = normalized.char_count() <= ABSOLUTE_MAX_LENGTH;
        let prefix: String = normalized.expose().chars().take(100).collect();
        let estimate = || zxcvbn::zxcvbn(&prefix, &["ada.lovelace"]);
        // A fast input gets as many runs as the check, a slow one a few.
        let runs = if !zxcvbn_ran {
            0
        } else if time(1, estimate).p50 < Duration::from_millis(1) {
            200
        } else {
            zxcvbn_runs
        };
        let zxcvbn = (runs > 0).then(|| time(runs, estimate));
        println!(
            "{}",
            serde_json::json!({
                "input": name,
                "chars": raw.chars().count(),
                "p50_ms": ms(check.p50),
                "p99_ms": ms(check.p99),
                "max_ms": ms(check.max),
                "cpu_max_ms": ms(check.cpu_max),
                "rules": rules,
                "zxcvbn_p50_ms": zxcvbn.as_ref().map(|z| ms(z.p50)),
                "zxcvbn_max_ms": zxcvbn.as_ref().map(|z| ms(z.max)),
                "zxcvbn_runs": runs,
            })
        );
    }
}
