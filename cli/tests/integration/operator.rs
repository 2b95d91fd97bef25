//! The operator commands, run as the real binary: import (good and bad
//! lines, report, exit status, hashes that verify), user list/show/
//! disable/enable, key list/revoke against a running server, and the same
//! commands against DynamoDB on moto.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::support::{IMPORTED, Server, bcrypt_hash, django_hash};
use rekey::config::{Config, EnvReader};
use rekey::crypto::ServiceSecret;
use rekey::domain::EmailAddress;
use rekey::store::Store;
use rekey::store::embedded::EmbeddedStore;
use serde_json::json;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `rekeyctl --data-dir DIR ARGS` with only `env` of REKEY_*/AWS_* set.
fn run(dir: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    use std::io::Write;
    let mut cmd = Command::new(crate::support::BIN);
    cmd.arg("--data-dir").arg(dir);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("REKEY_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start rekeyctl");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(r: Run, what: &str) -> String {
    assert_eq!(r.code, 0, "{what} failed:\n{}", r.stderr);
    r.stdout.trim().to_string()
}

/// Lines 1-3 good, then every kind of bad line; a blank line 7.
fn mixed_import(bcrypt: &str, django: &str) -> (String, Vec<(usize, &'static str)>) {
    let lines = [
        json!({"email": "Imp.Bcrypt@Example.com", "name": "B", "id": "imp-bcrypt", "locale": "de", "password_hash": bcrypt}).to_string(),
        json!({"email": "imp.django@example.com", "org": "acme", "password_hash": django}).to_string(),
        json!({"email": "imp.nohash@example.com"}).to_string(),
        "{\"email\": \"broken@example.com\"".to_string(),
        json!({"email": "imp.bad@example.com", "password_hash": "$2b$12$SECRETSECRETtooShort"}).to_string(),
        json!({"email": "imp.bcrypt@example.com"}).to_string(),
        String::new(),
        json!({"email": "imp.plain@example.com", "password": "hunter2-plaintext"}).to_string(),
        json!({"email": "imp.other@example.com", "id": "imp-bcrypt"}).to_string(),
    ];
    let expected = vec![
        (4, "not valid JSON"),
        (5, "malformed bcrypt"),
        (6, "duplicate"),
        (8, "unknown field \"password\""),
        (9, "duplicate"),
    ];
    (lines.join("\n") + "\n", expected)
}

fn check_import_report(r: &Run, expected: &[(usize, &str)], imported: usize) {
    assert_eq!(r.code, 1, "bad lines make the exit status 1:\n{}", r.stderr);
    for (line, reason) in expected {
        let reported = r
            .stderr
            .lines()
            .find(|l| l.starts_with(&format!("line {line}: ")))
            .unwrap_or_else(|| panic!("line {line} not reported:\n{}", r.stderr));
        assert!(reported.contains(reason), "line {line}: {reported}");
    }
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("line ")).count(),
        expected.len(),
        "only the bad lines are reported:\n{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("imported {imported}, skipped {}", expected.len())),
        "{}",
        r.stderr
    );
    for secret in ["SECRET", "hunter2", "$2b$", "pbkdf2_sha256$"] {
        assert!(
            !r.stderr.contains(secret),
            "the report shows {secret}:\n{}",
            r.stderr
        );
    }
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

/// The legacy budgets the hashes of imported_hashes.rs need.
const LEGACY: [(&str, &str); 2] = [
    ("REKEY_LEGACY_BCRYPT_COST", "4"),
    ("REKEY_LEGACY_PBKDF2_ITERATIONS", "1000"),
];

fn local_config(dir: &Path) -> Config {
    let secret =
        std::fs::read_to_string(dir.join("secret")).unwrap_or_else(|_| ServiceSecret::generate().1);
    let mut env = EnvReader::new(move |k| match k {
        "REKEY_SECRET" => Some(secret.trim().to_string()),
        "REKEY_RESET_URL" => Some("http://127.0.0.1:3000/reset?token={token}".into()),
        k => LEGACY
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string()),
    });
    let config = Config::read(&mut env);
    env.finish().unwrap();
    config.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_bad_lines_goes_on_and_the_hashes_verify() {
    let _machine = crate::support::sharing_the_machine().await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (bcrypt, django) = (bcrypt_hash(IMPORTED), django_hash(IMPORTED));
    let (input, expected) = mixed_import(&bcrypt, &django);
    let file = dir.join("users.jsonl");
    std::fs::write(&file, &input).unwrap();
    // Without legacy budgets a bcrypt or PBKDF2 hash is refused, naming
    // the setting: every sign-in would pay for it (docs/security.md).
    let elsewhere = tempfile::tempdir().unwrap();
    let refused = run(
        elsewhere.path(),
        &["user", "import", file.to_str().unwrap()],
        None,
        &[],
    );
    assert_eq!(refused.code, 1);
    for (line, setting) in [
        (1, "REKEY_LEGACY_BCRYPT_COST"),
        (2, "REKEY_LEGACY_PBKDF2_ITERATIONS"),
    ] {
        let reported = refused
            .stderr
            .lines()
            .find(|l| l.starts_with(&format!("line {line}: ")))
            .unwrap_or_else(|| panic!("line {line} not reported:\n{}", refused.stderr));
        assert!(reported.contains(setting), "{reported}");
    }
    let r = run(
        dir,
        &["user", "import", file.to_str().unwrap()],
        None,
        &LEGACY,
    );
    check_import_report(&r, &expected, 3);

    // From stdin, all good: exit status 0.
    let r = run(
        dir,
        &["user", "import", "-"],
        Some(&format!(
            "{}\n",
            json!({"email": "imp.stdin@example.com", "name": "S"})
        )),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("imported 1, skipped 0"), "{}", r.stderr);
    let missing = run(
        dir,
        &["user", "import", "/nonexistent/users.jsonl"],
        None,
        &[],
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("cannot open /nonexistent/users.jsonl"),
        "{}",
        missing.stderr
    );

    let list = ok(run(dir, &["user", "list"], None, &[]), "user list");
    assert_eq!(list.lines().count(), 4, "{list}");
    let show = ok(
        run(dir, &["user", "show", "IMP.BCRYPT@example.com"], None, &[]),
        "show",
    );
    for field in [
        "id:\timp-bcrypt",
        "email:\timp.bcrypt@example.com",
        "name:\tB",
        "locale:\tde",
        "password:\tbcrypt",
        "state:\tactive",
    ] {
        assert!(show.contains(field), "{field} in\n{show}");
    }
    assert!(!show.contains("$2b$"), "{show}");
    let show = ok(
        run(dir, &["user", "show", "imp.django@example.com"], None, &[]),
        "show",
    );
    assert!(
        show.contains("password:\tpbkdf2_sha256") && show.contains("org:\tacme"),
        "{show}"
    );
    let show = ok(
        run(dir, &["user", "show", "imp.nohash@example.com"], None, &[]),
        "show",
    );
    assert!(show.contains("password:\tnone"), "{show}");
    let unknown = run(dir, &["user", "show", "nobody@example.com"], None, &[]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("rekeyctl user list"),
        "{}",
        unknown.stderr
    );

    // The imported hashes verify, and are upgraded on verification.
    let config = local_config(dir);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&dir.join("rekey.db")).unwrap());
    let service = rekey::App::new(&config, store.clone()).passwords;
    for email in ["imp.bcrypt@example.com", "imp.django@example.com"] {
        let user = store
            .user_by_email(&EmailAddress::parse(email).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            !service
                .verify(&user, "Wrong-Pass-1!", &Default::default())
                .await
                .unwrap()
        );
        assert!(
            service
                .verify(&user, IMPORTED, &Default::default())
                .await
                .unwrap(),
            "{email}"
        );
        let show = ok(run(dir, &["user", "show", email], None, &[]), "show");
        assert!(show.contains("password:\targon2id"), "{email}: {show}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_enable_and_key_revoke_against_a_running_server() {
    let _machine = crate::support::sharing_the_machine().await;
    let server = Server::start("info").await;
    let dir = server.data_dir();
    let email = server.user.email.clone();

    let list = ok(run(dir, &["user", "list"], None, &[]), "user list");
    let line = list.lines().find(|l| l.contains(&email)).expect("listed");
    assert!(line.ends_with("\tactive"), "{line}");

    let r = run(dir, &["user", "disable", &email], None, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let show = ok(
        run(dir, &["user", "show", &server.user.id], None, &[]),
        "show by id",
    );
    assert!(
        show.contains("state:\tdisabled") && show.contains("password:\targon2id"),
        "{show}"
    );
    let list = ok(run(dir, &["user", "list"], None, &[]), "user list");
    assert!(
        list.lines()
            .any(|l| l.contains(&email) && l.ends_with("\tdisabled"))
    );
    // A disabled account: the same 200, no mail.
    server
        .request_reset(&json!({"email": email}))
        .await
        .expect(200, "request for a disabled account");
    server.wait_for_empty_outbox_queue().await;
    assert!(server.mails().is_empty(), "no mail for a disabled account");

    ok(run(dir, &["user", "enable", &email], None, &[]), "enable");
    let show = ok(run(dir, &["user", "show", &email], None, &[]), "show");
    assert!(show.contains("state:\tactive"), "{show}");

    // Keys: listed by a digest prefix, never the key itself.
    let keys = ok(run(dir, &["key", "list"], None, &[]), "key list");
    assert_eq!(
        keys.lines().count(),
        2,
        "the demo key and the test's: {keys}"
    );
    let line = keys
        .lines()
        .find(|l| l.contains("\ttest\t"))
        .expect("the test's key");
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 6, "{keys}");
    let id = fields[0];
    assert!(
        id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(&fields[1..4], &["test", "reset:request", "(default)"]);
    assert!(
        fields[4].ends_with("UTC") && fields[5] == "active",
        "{keys}"
    );
    assert!(
        keys.lines()
            .any(|l| l.contains("\tdemo\treset:request,users:write\tdemo-org\t")),
        "the demo key is bound to the demo user's organisation: {keys}"
    );
    assert!(!keys.contains(&server.api_key));
    let id = id.to_string();

    let short = run(dir, &["key", "revoke", &id[..7]], None, &[]);
    assert_eq!(short.code, 1);
    assert!(
        short.stderr.contains("at least 8 hex characters"),
        "{}",
        short.stderr
    );
    let unknown = run(dir, &["key", "revoke", "ffffffffffff0000"], None, &[]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("rekeyctl key list"),
        "{}",
        unknown.stderr
    );

    // Before: the key works; after revoking by an 8-character prefix: 401.
    server
        .request_reset(&json!({"email": "nobody@example.com"}))
        .await
        .expect(200, "with the key");
    ok(run(dir, &["key", "revoke", &id[..8]], None, &[]), "revoke");
    let keys = ok(run(dir, &["key", "list"], None, &[]), "key list");
    assert!(
        keys.lines()
            .any(|l| l.starts_with(&id) && l.ends_with("\trevoked")),
        "{keys}"
    );
    assert!(
        keys.lines()
            .any(|l| l.contains("\tdemo\t") && l.ends_with("\tactive")),
        "{keys}"
    );
    server
        .request_reset(&json!({"email": email}))
        .await
        .expect_payabli_error(401, "a revoked key");
    let again = run(dir, &["key", "revoke", &id], None, &[]);
    assert_eq!(again.code, 0);
    assert!(again.stderr.contains("already revoked"), "{}", again.stderr);
}

#[test]
fn every_command_has_help_with_examples() {
    let _machine = crate::support::sharing_the_machine_blocking();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["user", "import", "--help"],
        vec!["user", "show", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "disable", "--help"],
        vec!["user", "enable", "--help"],
        vec!["key", "list", "--help"],
        vec!["key", "revoke", "--help"],
        vec!["key", "create", "--help"],
    ] {
        let help = ok(run(dir.path(), &args, None, &[]), &format!("{args:?}"));
        assert!(help.contains("Example"), "{args:?}:\n{help}");
    }
    let import = ok(
        run(dir.path(), &["user", "import", "--help"], None, &[]),
        "help",
    );
    assert!(
        import.contains("Exit status: 0 if every line was imported, 1 otherwise"),
        "{import}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_work_against_dynamodb() {
    let _machine = crate::support::sharing_the_machine().await;
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run the tests with scripts/test, which starts moto");
    let table = format!("rekey-cli-{}", uuid::Uuid::new_v4().simple());
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("REKEY_TABLE", table.as_str()),
        LEGACY[0],
        LEGACY[1],
    ];
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let dynamo = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["--dynamodb"];
        all.extend_from_slice(args);
        run(dir, &all, stdin, &env)
    };
    let r = dynamo(&["table", "create", "--table", &table], None);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let (bcrypt, django) = (bcrypt_hash(IMPORTED), django_hash(IMPORTED));
    let (input, expected) = mixed_import(&bcrypt, &django);
    let r = dynamo(&["user", "import", "-"], Some(&input));
    check_import_report(&r, &expected, 3);

    let list = ok(dynamo(&["user", "list"], None), "user list");
    assert_eq!(list.lines().count(), 3, "{list}");
    let show = ok(dynamo(&["user", "show", "imp-bcrypt"], None), "show");
    assert!(
        show.contains("password:\tbcrypt") && show.contains("locale:\tde"),
        "{show}"
    );
    ok(
        dynamo(&["user", "disable", "imp.django@example.com"], None),
        "disable",
    );
    let show = ok(
        dynamo(&["user", "show", "imp.django@example.com"], None),
        "show",
    );
    assert!(
        show.contains("state:\tdisabled") && show.contains("password:\tpbkdf2_sha256"),
        "{show}"
    );
    ok(
        dynamo(&["user", "enable", "imp.django@example.com"], None),
        "enable",
    );
    let show = ok(
        dynamo(&["user", "show", "imp.django@example.com"], None),
        "show",
    );
    assert!(show.contains("state:\tactive"), "{show}");

    let key = ok(
        dynamo(
            &[
                "key",
                "create",
                "--scope",
                "reset:request",
                "--name",
                "shop",
                "--org",
                "acme",
            ],
            None,
        ),
        "key create",
    );
    assert!(key.starts_with("rkk_"));
    let keys = ok(dynamo(&["key", "list"], None), "key list");
    assert!(
        keys.contains("\tshop\treset:request\tacme\t") && keys.ends_with("\tactive"),
        "{keys}"
    );
    let id = keys.split('\t').next().unwrap().to_string();
    ok(dynamo(&["key", "revoke", &id], None), "key revoke");
    let keys = ok(dynamo(&["key", "list"], None), "key list");
    assert!(keys.ends_with("\trevoked"), "{keys}");

    let audit = dynamo(&["audit", "imp-bcrypt"], None);
    assert_eq!(audit.code, 0, "{}", audit.stderr);

    // Without REKEY_TABLE the error says what to set.
    let r = run(dir, &["--dynamodb", "user", "list"], None, &env[..4]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("REKEY_TABLE"), "{}", r.stderr);
}

/// `rekeyctl signing-key`: list shows the key serve would make; rotate is
/// two steps (publish a next key, then promote it).
#[test]
fn signing_key_list_and_two_step_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let rekeyctl = |args: &[&str]| crate::support::rekeyctl(dir.path(), args, None);
    assert_eq!(
        rekeyctl(&["signing-key", "list"]),
        "",
        "no key before a start"
    );
    let states = |listing: String| -> Vec<(String, String)> {
        listing
            .lines()
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                assert_eq!(cols.len(), 3, "kid, state, created: {l:?}");
                (cols[0].to_string(), cols[1].to_string())
            })
            .collect()
    };
    assert!(rekeyctl(&["signing-key", "rotate"]).starts_with("published next key"));
    let first = states(rekeyctl(&["signing-key", "list"]));
    assert_eq!(
        first.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
        ["current", "next"]
    );
    assert!(rekeyctl(&["signing-key", "rotate"]).contains("now signs"));
    let second = states(rekeyctl(&["signing-key", "list"]));
    assert_eq!(
        second,
        [
            (first[1].0.clone(), "current".to_string()),
            (first[0].0.clone(), "previous".to_string())
        ]
    );
}

/// `user add --phone` (verified unless `--phone-unverified`), a bad number
/// refused without an account, `user import` with `phone`, and `user show`
/// masking the number; the store keeps it whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_numbers_are_added_imported_and_shown_masked() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let id = ok(
        run(
            dir,
            &[
                "user",
                "add",
                "--email",
                "ph.one@example.com",
                "--phone",
                "+1 555 555 0100",
            ],
            None,
            &[],
        ),
        "add",
    );
    let shown = ok(run(dir, &["user", "show", id.trim()], None, &[]), "show");
    assert!(shown.contains("phone:\t+1********00 (verified)"), "{shown}");
    assert!(!shown.contains("5550100"), "{shown}");
    ok(
        run(
            dir,
            &[
                "user",
                "add",
                "--email",
                "ph.two@example.com",
                "--phone",
                "+447700900123",
                "--phone-unverified",
            ],
            None,
            &[],
        ),
        "add unverified",
    );
    let shown = ok(
        run(dir, &["user", "show", "ph.two@example.com"], None, &[]),
        "show",
    );
    assert!(shown.contains("(unverified)"), "{shown}");
    let bad = run(
        dir,
        &[
            "user",
            "add",
            "--email",
            "ph.three@example.com",
            "--phone",
            "5557777",
        ],
        None,
        &[],
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("E.164"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("5557777"), "{}", bad.stderr);
    let lines = [
        json!({"email": "ph.four@example.com", "phone": "+15555550142"}).to_string(),
        json!({"email": "ph.five@example.com", "phone": "0100"}).to_string(),
    ]
    .join("\n");
    let r = run(dir, &["user", "import", "-"], Some(&lines), &[]);
    assert_eq!(r.code, 1, "one bad line: {}", r.stderr);
    assert!(
        r.stderr.contains("line 2: phone is not an E.164 number"),
        "{}",
        r.stderr
    );
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&dir.join("rekey.db")).unwrap());
    let four = store
        .user_by_email(&EmailAddress::parse("ph.four@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(four.phone.unwrap().as_str(), "+15555550142");
    assert!(four.phone_verified);
    for missing in ["ph.three@example.com", "ph.five@example.com"] {
        let email = EmailAddress::parse(missing).unwrap();
        assert!(
            store.user_by_email(&email).await.unwrap().is_none(),
            "{missing}"
        );
    }
}
