//! Operator commands beyond `add`/`create`: import, show, disable/enable,
//! key list/revoke.

use std::io::{BufRead, IsTerminal};

use crate::failure::Failure;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rekey::StoreError;
use rekey::clock::{Clock, SystemClock};
use rekey::domain::{ApiKey, EmailAddress, User, UserId};
use rekey::mail::format_time;
use rekey::password::{CredentialHasher, HashScheme};
use rekey::store::Store;
use serde_json::Value;

/// How many hex characters of a key's digest `key list` shows as its id.
pub const KEY_ID_LEN: usize = 12;
/// The shortest digest prefix `key revoke` accepts.
pub const MIN_KEY_PREFIX: usize = 8;

/// The user an operator named by id or email address.
pub async fn find_user(store: &dyn Store, user: &str) -> Result<User, Failure> {
    let found = match EmailAddress::parse(user) {
        Some(email) => store.user_by_email(&email).await,
        None => match UserId::parse(user) {
            Some(id) => store.user(&id).await,
            None => Ok(None),
        },
    }
    .map_err(Failure::of)?;
    // An id may look like an address (ids allow `@` and `.`).
    let found = match found {
        Some(u) => Some(u),
        None => match UserId::parse(user) {
            Some(id) => store.user(&id).await.map_err(Failure::of)?,
            None => None,
        },
    };
    found.ok_or_else(|| {
        format!("no user with id or email {user:?} (see `rekeyctl user list`)").into()
    })
}

/// The scheme of a stored hash, never the hash: `none` without a password.
pub fn hash_kind(user: &User) -> &'static str {
    match user.password_hash.as_deref() {
        None => "none",
        Some(h) => HashScheme::of(h).map_or("unknown", HashScheme::name),
    }
}

pub fn show_user(u: &User) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    [
        ("id", u.id.to_string()),
        ("email", u.email.as_str().to_string()),
        ("name", opt(&u.name)),
        ("org", opt(&u.org)),
        ("locale", opt(&u.locale)),
        (
            "phone",
            u.phone.as_ref().map_or("-".to_string(), |p| {
                let state = if u.phone_verified {
                    "verified"
                } else {
                    "unverified"
                };
                format!("{} ({state})", p.masked())
            }),
        ),
        ("password", hash_kind(u).to_string()),
        (
            "state",
            if u.disabled { "disabled" } else { "active" }.to_string(),
        ),
        ("credential_version", u.credential_version.0.to_string()),
        ("sequence", u.sequence.to_string()),
        ("created", format_time(u.created_at)),
        ("changed", format_time(u.changed_at)),
    ]
    .iter()
    .map(|(k, v)| format!("{k}:\t{v}"))
    .collect::<Vec<_>>()
    .join("\n")
}

/// `user enable`; `user disable` goes through `disable` instead.
pub async fn set_disabled(store: &dyn Store, user: &str, disabled: bool) -> Result<(), Failure> {
    let u = find_user(store, user).await?;
    store
        .set_user_disabled(&u.id, disabled)
        .await
        .map_err(Failure::of)?;
    eprintln!(
        "user {} {}",
        u.id,
        if disabled {
            "disabled: no reset mail, and no outstanding link or code works"
        } else {
            "enabled"
        }
    );
    Ok(())
}

/// `user disable`: the account and its `account.disabled` webhooks in
/// one write (`ResetService::disable_account`).
pub async fn disable(
    reset: &rekey::ResetService,
    store: &dyn Store,
    user: &str,
) -> Result<(), Failure> {
    let u = find_user(store, user).await?;
    let changed = reset.disable_account(&u).await.map_err(Failure::of)?;
    eprintln!(
        "user {} {}",
        u.id,
        if changed {
            "disabled: no reset mail, and no outstanding link or code works"
        } else {
            "was disabled already"
        }
    );
    Ok(())
}

pub fn key_line(k: &ApiKey) -> String {
    let digest = k.digest.as_str();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        &digest[..KEY_ID_LEN.min(digest.len())],
        k.name,
        k.scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
        k.org.stored().unwrap_or("(default)"),
        format_time(k.created_at),
        if k.revoked { "revoked" } else { "active" }
    )
}

pub async fn revoke_key(store: &dyn Store, prefix: &str) -> Result<(), Failure> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.len() < MIN_KEY_PREFIX || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{prefix:?} is not a key id: give at least {MIN_KEY_PREFIX} hex characters of the id `rekeyctl key list` shows"
        ).into());
    }
    let keys = store.api_keys().await.map_err(Failure::of)?;
    let matching: Vec<&ApiKey> = keys
        .iter()
        .filter(|k| k.digest.as_str().starts_with(&prefix))
        .collect();
    let key = match matching.as_slice() {
        [] => {
            return Err(format!(
                "no key has an id starting with {prefix} (see `rekeyctl key list`)"
            )
            .into());
        }
        [one] => *one,
        many => {
            return Err(format!(
                "{} keys have ids starting with {prefix}: give more characters",
                many.len()
            )
            .into());
        }
    };
    if key.revoked {
        eprintln!("key {prefix} ({}) was already revoked", key.name);
        return Ok(());
    }
    store
        .revoke_api_key(&key.digest)
        .await
        .map_err(Failure::of)?;
    eprintln!(
        "key {prefix} ({}) revoked: requests with it now get 401",
        key.name
    );
    Ok(())
}

const FIELDS: [&str; 8] = [
    "email",
    "name",
    "org",
    "id",
    "locale",
    "password_hash",
    "phone",
    "phone_verified",
];

/// One import line, checked; the reason it is bad names fields and rules,
/// never a value.
fn parse_line(line: &str, hasher: &CredentialHasher) -> Result<User, Failure> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        format!(
            "not valid JSON (column {}): expected one object per line",
            e.column()
        )
    })?;
    let Value::Object(map) = value else {
        return Err("not a JSON object: expected {\"email\": ..., ...}".into());
    };
    for k in map.keys() {
        if !FIELDS.contains(&k.as_str()) {
            return Err(
                format!("unknown field {k:?}: the fields are {}", FIELDS.join(", ")).into(),
            );
        }
    }
    let field = |name: &str| -> Result<Option<String>, Failure> {
        match map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{name} must be a string").into()),
        }
    };
    let email = field("email")?.ok_or("email is required")?;
    let email = EmailAddress::parse(&email).ok_or("email is not a valid address")?;
    let id = match field("id")? {
        Some(raw) => {
            UserId::parse(&raw).ok_or("id is not valid: use 1 to 128 of A-Z a-z 0-9 - _ . @")?
        }
        None => UserId::generate(),
    };
    let locale = field("locale")?
        .map(|l| {
            let l = l.trim().to_ascii_lowercase().replace('_', "-");
            let ok = !l.is_empty()
                && l.len() <= 35
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            ok.then_some(l)
                .ok_or("locale is not a language tag (like en, de, pt-br)")
        })
        .transpose()?;
    let password_hash = field("password_hash")?
        .map(|h| HashScheme::validate(&h).map(|_| h))
        .transpose()
        .map_err(Failure::of)?;
    let phone = field("phone")?
        .map(|p| {
            rekey::domain::PhoneNumber::parse(&p)
                .ok_or("phone is not an E.164 number (like +15555550100)")
        })
        .transpose()?;
    let phone_verified = match map.get("phone_verified") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("phone_verified must be true or false".into()),
    };
    // Within the legacy budgets every sign-in pays, so the account's timing
    // tells nothing (docs/security.md).
    if let Some(h) = &password_hash {
        hasher.legacy().admits(h, &hasher.params())?;
    }
    let mut user = User::new(id, email, SystemClock.now());
    user.phone_verified = phone.is_some() && phone_verified;
    user.phone = phone;
    user.name = field("name")?;
    user.org = field("org")?;
    user.locale = locale;
    user.password_hash = password_hash;
    Ok(user)
}

/// `rekeyctl user import`: every line is tried; bad ones are reported and
/// skipped. Returns (imported, skipped).
pub async fn import(
    store: &dyn Store,
    hasher: &CredentialHasher,
    input: Box<dyn BufRead>,
) -> Result<(usize, usize), Failure> {
    let lines: Vec<String> = input
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read the input: {e}"))?;
    let total = lines.iter().filter(|l| !l.trim().is_empty()).count() as u64;
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    // A template that does not parse leaves the bar in its default style.
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} users, {msg}") {
        bar.set_style(style);
    }
    let (mut imported, mut skipped) = (0, 0);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let result = match parse_line(line, hasher) {
            Ok(user) => store.insert_user(&user).await.map_err(|e| match e {
                StoreError::Conflict(_) => {
                    "duplicate: a user with this email or id exists already".into()
                }
                other => Failure::of(other),
            }),
            Err(reason) => Err(reason),
        };
        match result {
            Ok(()) => imported += 1,
            Err(reason) => {
                skipped += 1;
                bar.suspend(|| eprintln!("line {}: {reason}", i + 1));
            }
        }
        bar.set_message(format!("{skipped} skipped"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((imported, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_name_the_problem_never_the_value() {
        let hasher = CredentialHasher::with_legacy(
            Default::default(),
            rekey::password::LegacyBudget {
                pbkdf2_iterations: 1000,
                bcrypt_cost: 12,
            },
        );
        let secret = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW-x";
        for (line, expect) in [
            ("{", "not valid JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"name": "x"}"#, "email is required"),
            (r#"{"email": "nope"}"#, "email is not a valid address"),
            (
                r#"{"email": "a@example.com", "password": "hunter2"}"#,
                "unknown field \"password\"",
            ),
            (
                &format!(r#"{{"email": "a@example.com", "password_hash": "{secret}"}}"#),
                "malformed bcrypt",
            ),
            (
                r#"{"email": "a@example.com", "password_hash": "md5$x$y"}"#,
                "not a supported hash",
            ),
            (
                r#"{"email": "a@example.com", "password_hash": "pbkdf2_sha256$x$salt$aGFzaA=="}"#,
                "malformed pbkdf2_sha256",
            ),
            (
                r#"{"email": "a@example.com", "name": 5}"#,
                "name must be a string",
            ),
            (
                r#"{"email": "a@example.com", "phone": "5557777"}"#,
                "phone is not an E.164 number",
            ),
            (
                r#"{"email": "a@example.com", "phone": "+15557777", "phone_verified": "yes"}"#,
                "phone_verified must be true or false",
            ),
        ] {
            let err = parse_line(line, &hasher).unwrap_err().to_string();
            assert!(err.contains(expect), "{line}: {err}");
            assert!(!err.contains("hunter2") && !err.contains("R9h"), "{err}");
            assert!(!err.contains("5557777"), "{err}");
        }
    }

    #[test]
    fn imported_phones_are_verified_unless_said_otherwise() {
        let hasher = CredentialHasher::new(Default::default());
        let u = parse_line(
            r#"{"email": "a@example.com", "phone": "+1 555 555 0100"}"#,
            &hasher,
        )
        .unwrap();
        assert_eq!(u.phone.as_ref().unwrap().as_str(), "+15555550100");
        assert!(u.phone_verified);
        let u = parse_line(
            r#"{"email": "a@example.com", "phone": "+15555550100", "phone_verified": false}"#,
            &hasher,
        )
        .unwrap();
        assert!(!u.phone_verified);
        let shown = show_user(&u);
        assert!(shown.contains("+1********00 (unverified)"), "{shown}");
        assert!(!shown.contains("5555550100"), "{shown}");
    }
}
