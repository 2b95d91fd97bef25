//! No answer or timing of `rekeyctl serve` tells whether an address has an
//! account: the email-initiated endpoints do the same work either way (one
//! intake item of one size; the look-up is the worker's), measured over
//! real HTTP.

use std::time::{Duration, Instant};

use crate::support::Server;
use serde_json::json;

/// Requests per address kind: enough for a stable median on 2 cores.
const ROUNDS: usize = 300;
/// Allowed difference of the medians.
const TOLERANCE: Duration = Duration::from_millis(2);

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn timed(
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) -> (Duration, Vec<u8>, u16) {
    let start = Instant::now();
    let reply = server.post_json(path, headers, &body).await;
    (start.elapsed(), reply.text().into_bytes(), reply.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_addresses_take_the_same_time() {
    let _alone = crate::support::alone_on_the_machine().await;
    // Limits raised so every known request really issues and mails at
    // delivery: a limited address would issue nothing, like an unknown one.
    let server = Server::start_with(
        "warn",
        &[
            ("REKEY_LIMIT_EMAIL_PER_MINUTE", "100000"),
            ("REKEY_LIMIT_EMAIL_PER_HOUR", "100000"),
            ("REKEY_LIMIT_SOURCE_PER_MINUTE", "100000"),
        ],
    )
    .await;
    // Each address is asked about once, as a probe would: fresh known
    // accounts against fresh unknown addresses.
    let store = server.store();
    let mut known = Vec::new();
    for i in 0..ROUNDS * 3 {
        let email = format!("known-{i}@example.com");
        let user = rekey::domain::User::new(
            rekey::domain::UserId::generate(),
            rekey::domain::EmailAddress::parse(&email).unwrap(),
            rekey::clock::Clock::now(&rekey::clock::SystemClock),
        );
        rekey::store::AccountStore::insert_user(&store, &user)
            .await
            .unwrap();
        known.push(email);
    }
    let mut known = known.into_iter();
    let mut unknown = (0..).map(|i| format!("nobody-{i}@example.com"));
    for (path, field, headers) in [
        (
            "/api/User/authreset",
            "email",
            vec![("requestToken", server.api_key.as_str())],
        ),
        (
            "/api/v1/iam/accounts/send-reset-password-link/",
            "login",
            vec![],
        ),
        ("/api/v2/account/recover/", "email", vec![]),
    ] {
        let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
        let mut answers = std::collections::HashSet::new();
        // Mixed in a fixed pseudo-random order, so background work (the
        // outbox worker writing a known address's mail) lands on requests of
        // both kinds alike.
        let mut order: Vec<bool> = (0..ROUNDS * 2).map(|i| i % 2 == 0).collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for is_known in order {
            let email = if is_known {
                known.next().unwrap()
            } else {
                unknown.next().unwrap()
            };
            let (elapsed, body, status) =
                timed(&server, path, &headers, json!({ field: email })).await;
            assert_eq!(status, 200, "{path}");
            answers.insert(body);
            if is_known {
                known_times.push(elapsed)
            } else {
                unknown_times.push(elapsed)
            }
        }
        assert_eq!(answers.len(), 1, "{path}: one answer for both");
        let (k, u) = (median(known_times), median(unknown_times));
        let difference = k.abs_diff(u);
        eprintln!("{path}: median known {k:?}, unknown {u:?}");
        assert!(
            difference < TOLERANCE,
            "{path}: medians differ by {difference:?} (known {k:?}, unknown {u:?})"
        );
    }
    server.wait_for_empty_outbox_queue().await;
}

/// Sign-in at `POST /oauth/token`: a wrong password, an unknown address and
/// a disabled account get the same status, headers and body, and take the
/// same time (an argon2id comparison each: the unknown and the disabled
/// against a dummy hash of the same parameters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refusals_look_and_take_the_same() {
    /// Each an argon2id comparison: fewer rounds than above suffice.
    const SIGN_INS: usize = 120;
    let _alone = crate::support::alone_on_the_machine().await;
    let server = Server::start_with(
        "warn",
        &[
            ("REKEY_LIMIT_SOURCE_PER_MINUTE", "100000"),
            (
                "REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_SOURCE_PER_HOUR",
                "100000",
            ),
            ("REKEY_LIMIT_PASSWORD_ATTEMPTS_PER_HOUR", "100000"),
        ],
    )
    .await;
    let disabled = "disabled.one@example.com";
    // Not "Disabled": a password may not contain the address's local part.
    let password = crate::support::strong_password("Harbor");
    crate::support::rekeyctl(
        server.data_dir(),
        &["user", "add", "--email", disabled, "--password-stdin"],
        Some(&format!("{password}\n")),
    );
    crate::support::rekeyctl(server.data_dir(), &["user", "disable", disabled], None);

    let sign_in = |username: String, password: String| {
        let server = &server;
        async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", "password"),
                    ("username", username.as_str()),
                    ("password", password.as_str()),
                    ("client_id", "rekey"),
                ])
                .finish();
            let start = Instant::now();
            let reply = server
                .post_raw(
                    "/oauth/token",
                    Some("application/x-www-form-urlencoded"),
                    &[],
                    body,
                )
                .await;
            (start.elapsed(), reply)
        }
    };
    // The right password works, so the refusals below are refusals.
    let (_, ok) = sign_in(server.user.email.clone(), server.user.password.clone()).await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    let kinds = ["wrong password", "unknown address", "disabled account"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    let mut answers = std::collections::HashSet::new();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..SIGN_INS * kinds.len() {
        // Interleaved in a fixed pseudo-random order.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let kind = (state % kinds.len() as u64) as usize;
        let (username, password) = match kind {
            0 => (server.user.email.clone(), format!("Wrong-Guess-{i}-x")),
            1 => (
                format!("nobody-{i}@example.com"),
                format!("Wrong-Guess-{i}-x"),
            ),
            _ => (disabled.to_string(), password.clone()),
        };
        let (elapsed, reply) = sign_in(username, password).await;
        assert_eq!(reply.status, 400, "{}: {}", kinds[kind], reply.text());
        let mut headers: Vec<(String, String)> = reply
            .headers
            .iter()
            .filter(|(k, _)| *k != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        headers.sort();
        answers.insert((headers, reply.body.clone()));
        times[kind].push(elapsed);
    }
    assert_eq!(answers.len(), 1, "one answer for all three: {answers:?}");
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    eprintln!("/oauth/token refusals: medians {kinds:?} = {medians:?}");
    // argon2id dominates; allow a little over the address endpoints'
    // tolerance, and a share of the median for a loaded machine.
    let slowest = *medians.iter().max().unwrap();
    let allowed = TOLERANCE + slowest / 20;
    for (kind, m) in kinds.iter().zip(&medians) {
        let difference = m.abs_diff(medians[0]);
        assert!(
            difference < allowed,
            "{kind}: median {m:?} differs from the wrong password's {:?} by {difference:?} (allowed {allowed:?})",
            medians[0]
        );
    }
}
