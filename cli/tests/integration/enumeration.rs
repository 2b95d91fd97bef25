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
