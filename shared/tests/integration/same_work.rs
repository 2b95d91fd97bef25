//! The address endpoints do the same work whatever the address: for a
//! known, an unknown, a disabled and an over-limit address, each makes the
//! same store calls, in the same order, writing items of the same sizes,
//! and answers the same; only delivery, later, tells them apart. Recorded
//! on both stores.

use std::sync::Arc;

use crate::iam::StoreMethod;
use crate::recording_store::{RecordingStore, SizedCall};
use crate::support::*;
use rekey::App;
use rekey::domain::Scope;
use rekey::routes::Function;
use rekey::store::{AccountStore, Store};

const JSON: (&str, &str) = ("content-type", "application/json");

async fn the_same_work_for_every_address(base: Arc<dyn Store>) {
    // Three requests per address fit in the hour; a fourth does not.
    let config = config_with(&[
        ("REKEY_LIMIT_EMAIL_PER_HOUR", "3"),
        ("REKEY_LIMIT_EMAIL_PER_MINUTE", "100"),
        ("REKEY_LIMIT_SOURCE_PER_MINUTE", "1000"),
    ]);
    let store = Arc::new(RecordingStore::over(base));
    let app = App::new(&config, store.clone());
    let key = add_key(&*store, &[Scope::ResetRequest]).await;
    let known = add_user(&*store, &config, &unique_email()).await;
    let disabled = add_user(&*store, &config, &unique_email()).await;
    store.set_user_disabled(&disabled.id, true).await.unwrap();
    let limited = add_user(&*store, &config, &unique_email()).await;
    // Longer than the others: its item must still be of their size.
    let unknown = format!("a.much.longer.name.{}", unique_email());
    let addresses = [
        ("known", known.email.as_str().to_string()),
        ("unknown", unknown),
        ("disabled", disabled.email.as_str().to_string()),
        ("over its limit", limited.email.as_str().to_string()),
    ];
    let endpoints = [
        (Function::RequestReset, "email", true),
        (Function::SendResetLink, "login", false),
        (Function::RecoverAccount, "email", false),
    ];
    let request = |function: Function, field: &str, keyed: bool, email: &str| {
        let body = serde_json::json!({ field: email });
        let headers = if keyed {
            vec![JSON, ("requestToken", key.as_str())]
        } else {
            vec![JSON]
        };
        let app = &app;
        async move { post_to(app, function, &headers, &body).await }
    };
    // Use up the limited address's hour, its mail delivered.
    for (function, field, keyed) in endpoints {
        let resp = request(function, field, keyed, &addresses[3].1).await;
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(take_mail(app.store(), &config).await.len(), 3);

    for (function, field, keyed) in endpoints {
        let mut seen: Vec<(&str, u16, Vec<u8>, Vec<SizedCall>)> = Vec::new();
        for (what, email) in &addresses {
            store.take_sized();
            let resp = request(function, field, keyed, email).await;
            seen.push((
                what,
                resp.status().as_u16(),
                resp.body().to_vec(),
                store.take_sized(),
            ));
        }
        let (_, status, body, calls) = &seen[0];
        assert_eq!(*status, 200, "{}", function.name());
        let methods: Vec<StoreMethod> = calls.iter().map(|((m, _), _)| *m).collect();
        let expected: &[StoreMethod] = if keyed {
            &[StoreMethod::ApiKey, StoreMethod::EnqueueIntake]
        } else {
            &[StoreMethod::CountHit, StoreMethod::EnqueueIntake]
        };
        assert_eq!(methods, expected, "{}: the request path", function.name());
        for (what, s, b, c) in &seen[1..] {
            assert_eq!(
                (s, b),
                (status, body),
                "{}: {what} is answered alike",
                function.name()
            );
            assert_eq!(
                c,
                calls,
                "{}: {what} makes the same calls, of the same sizes",
                function.name()
            );
        }

        // Delivery, out of the requester's sight: only the known address
        // is mailed.
        let mail = take_mail(app.store(), &config).await;
        let to: Vec<&str> = mail.iter().map(|m| m.to.as_str()).collect();
        assert_eq!(to, [known.email.as_str()], "{}", function.name());
    }
}

crate::on_both_stores!(
    the_request_path_is_the_same_for_every_address,
    the_same_work_for_every_address
);
