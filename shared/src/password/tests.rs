use super::blocklist::fold;
use super::*;

fn policies() -> PasswordPolicies {
    PasswordPolicies::new("rekey")
}

fn rules_in(profile: Profile, pw: &str, email: Option<&str>) -> Vec<PolicyRule> {
    let who = PasswordContext { email, name: None };
    policies()
        .check(profile, &NewPassword::normalize(pw), who)
        .into_iter()
        .map(|v| v.rule)
        .collect()
}

fn rules(pw: &str, email: Option<&str>) -> Vec<PolicyRule> {
    rules_in(Profile::Nist, pw, email)
}

/// log2 guesses with the bundled list as the dictionary.
fn bits(pw: &str) -> f64 {
    let screen = Screen::bundled("rekey");
    log2_guesses(&fold(pw), &|w| screen.word_bits_for_tests(w))
}

#[test]
fn strong_passwords_pass_both_profiles() {
    for pw in [
        "Tr0ub4dor&3-horse-staple",
        "correct horse battery staple",
        "Fresh-Horse-42-Battery",
    ] {
        assert!(rules(pw, Some("ada@example.com")).is_empty(), "{pw}");
    }
    assert!(rules_in(Profile::AccountRecovery, "Zq8!vKw3", None).is_empty());
}

#[test]
fn the_nist_profile_has_length_and_no_composition_rules() {
    assert_eq!(rules("kx7vq2mzr9wplt", None), [PolicyRule::MinLength]); // 14
    assert!(rules("kx7vq2mzr9wpltb", None).is_empty()); // 15, one class
    assert!(rules("correct horse battery staple", None).is_empty());
    assert!(rules(&"zq8v".repeat(16), None).contains(&PolicyRule::Guessable));
    assert_eq!(rules(&"x".repeat(129), None), [PolicyRule::MaxLength]);
    let nist = PasswordPolicy::nist();
    assert_eq!(
        (nist.min_length, nist.max_length, nist.min_classes),
        (15, 128, 0)
    );
}

#[test]
fn the_account_recovery_profile_keeps_seed_004s_rule() {
    let r = |pw: &str| rules_in(Profile::AccountRecovery, pw, None);
    assert!(r("kx7vq2mzr9wplt").contains(&PolicyRule::CharacterClasses));
    assert!(r("Zq8!vK").contains(&PolicyRule::MinLength));
    assert!(r("Zq8!vKw3").is_empty());
    assert!(r("Zq8vKw3Lr").is_empty()); // three classes suffice
    assert!(r(&"Zq8!".repeat(33)).contains(&PolicyRule::MaxLength)); // 132
    assert!(r("Password1").contains(&PolicyRule::Common));
    let recovery = PasswordPolicy::account_recovery();
    assert_eq!(
        (
            recovery.min_length,
            recovery.max_length,
            recovery.min_classes
        ),
        (8, 128, 3)
    );
    assert_eq!(Profile::AccountRecovery.name(), "account-recovery");
    assert_eq!(Profile::Nist.name(), "nist-800-63b-rev4");
}

#[test]
fn each_rule_is_named() {
    assert!(rules("aB1!", None).contains(&PolicyRule::MinLength));
    assert!(rules(&"aB1!".repeat(40), None).contains(&PolicyRule::MaxLength));
    assert!(rules("Password1", None).contains(&PolicyRule::Common));
    // A walk not on the list (`qwertyuiopasdfgh` is: then `common` says it).
    assert_eq!(rules("mnbvcxzlkjhgfdsa", None), [PolicyRule::Guessable]);
    assert_eq!(rules("qwertyuiopasdfgh", None), [PolicyRule::Common]);
    assert!(
        rules("Zq8!adalovelace-xk", Some("adalovelace@example.com"))
            .contains(&PolicyRule::ContainsEmail)
    );
    assert!(rules("my-rekey-account-key", None).contains(&PolicyRule::ContextWords));
    let weak = rules("password", None);
    assert!(weak.contains(&PolicyRule::MinLength) && weak.contains(&PolicyRule::Common));
}

#[test]
fn listed_passwords_are_refused_after_normalisation_folding_and_l33t() {
    for pw in [
        "baseball",
        "BASEBALL",
        "ＢａｓｅＢａｌｌ",
        "b@5eb@ll",
        "iloveyou",
        "ILoveYou",
        "1l0v3y0u",
    ] {
        assert!(
            rules_in(Profile::AccountRecovery, pw, None).contains(&PolicyRule::Common),
            "{pw}"
        );
    }
    assert!(!rules_in(Profile::AccountRecovery, "Zq8!vKw3", None).contains(&PolicyRule::Common));
    // Every 1 000th entry of the published list, in every profile.
    let source = include_str!("../../data/common-passwords.txt");
    for line in source.lines().step_by(1000) {
        for profile in [Profile::Nist, Profile::AccountRecovery] {
            assert!(
                rules_in(profile, line, None).contains(&PolicyRule::Common),
                "{line:?}"
            );
        }
    }
}

#[test]
fn an_operators_list_extends_or_replaces_the_bundled_one() {
    let keys = ["Hampton-Orbital-Mechanics", "Zq8!vKw3"]
        .iter()
        .filter_map(|l| blocklist::format::line_key(l))
        .collect();
    let list = std::sync::Arc::new(
        blocklist::Blocklist::from_bytes(&blocklist::format::build(keys).unwrap()).unwrap(),
    );
    let mut p = policies();
    p.screen.lists.push(list);
    let check = |p: &PasswordPolicies, pw| {
        p.check(
            Profile::AccountRecovery,
            &NewPassword::normalize(pw),
            PasswordContext::default(),
        )
        .iter()
        .any(|v| v.rule == PolicyRule::Common)
    };
    assert!(check(&p, "hampton-orbital-mechanics") && check(&p, "Zq8!vKw3"));
    assert!(check(&p, "baseball"));
    p.screen.bundled = false;
    assert!(check(&p, "Zq8!vKw3") && !check(&p, "baseball"));
}

#[test]
fn context_words_are_the_product_the_address_and_the_name() {
    let p = policies();
    let who = PasswordContext {
        email: Some("ada.lovelace@example.com"),
        name: Some("Augusta Byron"),
    };
    let failed = |pw: &str| -> Vec<PolicyRule> {
        p.check(Profile::Nist, &NewPassword::normalize(pw), who)
            .into_iter()
            .map(|v| v.rule)
            .collect()
    };
    assert!(failed("Lovelace-Quiet-Lake-77").contains(&PolicyRule::ContainsEmail));
    assert!(failed("Quiet-Lake-77-BYR0N-x").contains(&PolicyRule::ContextWords));
    assert!(failed("Quiet-Lake-77-augusta").contains(&PolicyRule::ContextWords));
    assert!(failed("Quiet-Lake-77-R3K3Y-x").contains(&PolicyRule::ContextWords));
    assert!(failed("Quiet-Lake-77-Orbit-x").is_empty());
}

#[test]
fn control_characters_are_refused() {
    assert!(rules("Fresh\u{0}Horse-42-Battery", None).contains(&PolicyRule::ControlCharacters));
    assert!(rules("Fresh\tHorse-42-Battery", None).contains(&PolicyRule::ControlCharacters));
    assert!(!rules("Fresh Horse-42-Battery", None).contains(&PolicyRule::ControlCharacters));
}

#[test]
fn nfkc_normalises_before_checking() {
    // Full-width digits and letters normalise to ASCII.
    let p = NewPassword::normalize("Ｔｒ０ｕｂ");
    assert_eq!(p.expose(), "Tr0ub");
}

#[test]
fn oversized_input_is_refused_without_further_work() {
    let v = policies().check(
        Profile::Nist,
        &NewPassword::normalize(&"x".repeat(10_000)),
        PasswordContext::default(),
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].rule, PolicyRule::MaxLength);
}

#[test]
fn every_rule_sees_the_whole_password() {
    let mut p = policies();
    p.default.max_length = ABSOLUTE_MAX_LENGTH;
    let tail = |t: &str| NewPassword::normalize(&("Tr0ub4dor&3-horse-".repeat(10) + t));
    let rules = |pw: &NewPassword, email| {
        let who = PasswordContext { email, name: None };
        p.check(Profile::Nist, pw, who)
            .into_iter()
            .map(|v| v.rule)
            .collect::<Vec<_>>()
    };
    assert!(tail("").char_count() > 100);
    assert!(rules(&tail(""), Some("ada@example.com")).is_empty());
    assert_eq!(
        rules(&tail("adalovelace"), Some("adalovelace@example.com")),
        [PolicyRule::ContainsEmail]
    );
    assert_eq!(rules(&tail("\u{7}"), None), [PolicyRule::ControlCharacters]);
}

#[test]
fn the_estimate_catches_walks_sequences_repeats_dates_and_l33t() {
    let guessable = |pw: &str| bits(pw) < GUESSABLE_BELOW_BITS;
    // Keyboard walks: rows, shifted, columns, the keypad.
    for pw in [
        "qwertyuiopasdfgh",
        "zxcvbnm,./",
        "!@#$%^&*()_+",
        "QWERTYUIOP{}",
        "1qaz",
        "7894561230",
    ] {
        assert!(guessable(pw), "walk {pw}: {}", bits(pw));
    }
    // Sequences, up and down, by one or two.
    for pw in [
        "abcdefghijklmnop",
        "1234567890123456",
        "zyxwvutsrqponm",
        "13579bdfhjlnprtv",
    ] {
        assert!(guessable(pw), "sequence {pw}: {}", bits(pw));
    }
    // Repeats of a character, a block, a word.
    for pw in [
        "aaaaaaaaaaaaaaaaaaaa",
        "abcabcabcabcabcabc",
        "xk7!xk7!xk7!xk7!",
        "monkeymonkeymonkey",
        "p@55w0rdp@55w0rdp@55w0rd",
    ] {
        assert!(guessable(pw), "repeat {pw}: {}", bits(pw));
    }
    // However long: a listed word in l33t said 128 times.
    for pw in ["p@55w0rd".repeat(128), "Dr@g0n!".repeat(140)] {
        assert!(guessable(&pw), "repeat of {}: {}", &pw[..8], bits(&pw));
    }
    // Dates and years.
    for pw in ["19840512", "12/05/1984", "1984-05-12", "120584", "1984"] {
        assert!(guessable(pw), "date {pw}: {}", bits(pw));
    }
    // Listed words in l33t, with cheap decorations.
    for pw in [
        "p@ssw0rd",
        "p@55w0rd123",
        "Dr@g0n2024",
        "iloveyou2024!!!",
        "1l0v3y0u",
    ] {
        assert!(guessable(pw), "l33t {pw}: {}", bits(pw));
    }
    // Each costs what its random part costs.
    for pw in [
        "Xk7#mPq2",
        "dragon8472916350",
        "Tr0ub4dor&3-horse-staple",
        "Orbital-Mechanics-62-Hampton",
        "correct horse battery staple",
    ] {
        assert!(!guessable(pw), "{pw}: {}", bits(pw));
    }
}

#[test]
fn the_estimate_is_linear_in_steps_whatever_the_input() {
    // Bounded by construction: a fixed number of segments a character, and
    // list lookups (a SHA-1 each) that grow with the length, never with its
    // square. Counted here on the largest allowed inputs built to make the
    // most lookups: letter runs of exactly 4 (each looked up 4 times),
    // blocks repeated with a break (a look-up per block size), l33t.
    // The timing is in scripts/bench's worst-case table.
    let screen = Screen::bundled("rekey");
    let unit = "4@8({[</369&#!1/|0$5+7%2";
    let cut = |u: &str| {
        u.chars()
            .cycle()
            .take(ABSOLUTE_MAX_LENGTH)
            .collect::<String>()
    };
    for pw in [
        cut(unit),
        "a".repeat(ABSOLUTE_MAX_LENGTH),
        cut("qwerty"),
        cut("é"),
        cut("p@55w0rd"),
        cut("abcd-"),
        cut("4bcd-"),
        cut("abcdabcd-"),
        cut("abcdefghijklabcdefghijkl-"),
        cut("abab-cdcd-efef-"),
        cut("p@ssword-p@ssword-"),
        cut("1abcd!1abcd!-"),
        cut("Dr@g0n!"),
    ] {
        let folded = fold(&pw);
        let n = folded.chars().count();
        let (calls, hashed) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        let cost = log2_guesses(&folded, &|w| {
            calls.set(calls.get() + 1);
            hashed.set(hashed.get() + w.chars().count());
            screen.word_bits_for_tests(w)
        });
        assert!(cost.is_finite());
        assert!(
            calls.get() <= n && hashed.get() <= 8 * n,
            "{:?}...: {} look-ups of {} characters for {n}",
            &pw[..16],
            calls.get(),
            hashed.get()
        );
    }
}
