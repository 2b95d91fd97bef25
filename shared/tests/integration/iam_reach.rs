//! The IAM oracle (iam/) against what the functions really call: each HTTP
//! function's `events/` sample (the operator's placeholders filled in as
//! shared/tests/integration/events.rs does, and as shipped) and send-email's stream
//! sample are driven through `Function::handle` / `deliver_batch` on a
//! store that records every call. Each call a function makes must be one
//! `iam::store_calls` places for it, so its role grants what it does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::iam::{self, StoreMethod};
use crate::recording_store::{Call, RecordingStore};
use crate::support::*;
use rekey::App;
use rekey::delivery::Outbox;
use rekey::domain::{EmailAddress, OrgBinding, Scope, User, UserId};
use rekey::mail::{MailJob, MailMessage};
use rekey::routes::Function;
use rekey::store::{AccountStore, IntakeStore, OutboxStore};

const KEY: &str = "rkk_EXAMPLE_API_KEY_REPLACE_ME_000000000000000";
const TOKEN: &str = "rkt_EXAMPLE_LINK_TOKEN_REPLACE_ME_00000000000";
const USER: &str = "EXAMPLE-USER-ID";
const ACCESS: &str = "eyJ_EXAMPLE_ACCESS_TOKEN_REPLACE_ME";
const EMAIL: &str = "ada@example.com";

fn event_text(name: &str, substitutions: &[(&str, &str)]) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../events/{name}.json"));
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    substitutions
        .iter()
        .fold(raw, |acc, (from, to)| acc.replace(from, to))
}

/// The sample runs, and what each function was seen to call.
struct Reach {
    app: App,
    config: rekey::Config,
    store: Arc<RecordingStore>,
    seen: BTreeMap<&'static str, BTreeSet<Call>>,
    /// Where send-email writes mail while it delivers address requests
    /// (none: those records are intake items, whose delivery only queues).
    intake_outbox: Outbox,
}

impl Reach {
    /// Runs `function`'s sample and checks its calls against the IAM oracle;
    /// returns the status and body.
    async fn invoke(
        &mut self,
        function: Function,
        subs: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let text = event_text(function.name(), subs);
        let request = lambda_http::request::from_str(&text).expect("a valid API Gateway v2 event");
        self.store.take();
        let resp = function.handle(&self.app, request).await;
        self.check(function.name());
        // The page answers in HTML, revocation with an empty body.
        let body = match function {
            Function::ResetPage | Function::OAuthRevoke => serde_json::Value::Null,
            _ => response_json(&resp),
        };
        (resp.status().as_u16(), body)
    }

    fn check(&mut self, function: &'static str) {
        let placed = iam::store_calls(function).expect("a deployed function");
        for (method, redeeming) in self.store.take() {
            assert!(
                placed.iter().any(|c| c.is(method, redeeming)),
                "{function} called {method:?} ({redeeming:?}), which the IAM oracle does not place \
                 for it: add the StoreCall to iam::store_calls and the actions to template.yaml"
            );
            self.seen
                .entry(function)
                .or_default()
                .insert((method, redeeming));
        }
    }

    /// Delivers the queued address requests as send-email does, each from
    /// the stream sample rewritten to carry it, checking its calls.
    async fn deliver_intake(&mut self) {
        let items = self.store.pending_intake(20).await.unwrap();
        self.store.take();
        for item in items {
            let event = intake_stream_event(&item);
            let result =
                rekey::delivery::stream::consume_batch(&self.app.reset, &self.intake_outbox, event)
                    .await;
            assert!(result.batch_item_failures.is_empty());
            self.check(iam::STREAM_FUNCTION);
        }
    }

    /// The links in queued mail, newest last, once queued address requests
    /// are delivered; all queued mail is then delivered. Not a function's
    /// call: the recorder is cleared after.
    async fn queued_links(&mut self) -> Vec<String> {
        self.deliver_intake().await;
        let mut links = Vec::new();
        for item in self.store.pending_mail(20).await.unwrap() {
            self.store.mail_delivered(&item.id).await.unwrap();
            if let MailMessage::ResetLink { link, .. } =
                MailJob::open(&self.config.keys, &item).unwrap().message
            {
                links.push(link);
            }
        }
        self.store.take();
        links
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_calls_only_what_iam_places_for_it() {
    let config = config_with(&[(
        "REKEY_RESET_URLS_BY_ENTRY",
        r#"{"storefront": {"org": "acme", "url": "https://shop.example.com/reset?token={token}"}}"#,
    )]);
    let e = embedded_store();
    let store = Arc::new(RecordingStore::new(e.store.clone()));
    let app = App::new(&config, store.clone()).with_signer(crate::support::signer());
    let mut user = User::new(
        UserId::parse("ada-1").unwrap(),
        EmailAddress::parse(EMAIL).unwrap(),
        now(),
    );
    user.org = Some("acme".into());
    user.name = Some("Ada".into());
    store.insert_user(&user).await.unwrap();
    // users:admin too: request-user-reset's sample asks returnCode.
    let key = add_key_for(
        &*store,
        &[Scope::ResetRequest, Scope::UsersWrite, Scope::UsersAdmin],
        OrgBinding::Org("acme".into()),
    )
    .await;
    let user_id = user.id.as_str();
    let intake_dir = tempfile::tempdir().unwrap();
    let intake_outbox = Outbox {
        store: store.clone(),
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            intake_dir.path().to_path_buf(),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: None,
        directory: None,
    };
    let mut r = Reach {
        app,
        config,
        store,
        seen: BTreeMap::new(),
        intake_outbox,
    };
    let nobody = [("ada@example.com", "nobody@example.com")];

    // Link tokens: issue, inspect, redeem; an unknown address.
    assert_eq!(
        r.invoke(Function::RequestReset, &[(KEY, &key)]).await.0,
        200
    );
    let token = link_param(
        &r.queued_links().await.pop().expect("a reset mail"),
        "token",
    );
    assert_eq!(
        r.invoke(Function::RequestReset, &[(KEY, &key), nobody[0]])
            .await
            .0,
        200
    );
    r.deliver_intake().await;
    assert_eq!(r.invoke(Function::RequestReset, &[]).await.0, 401);
    assert_eq!(
        r.invoke(Function::ValidateToken, &[(TOKEN, &token)])
            .await
            .0,
        200
    );
    assert_eq!(
        r.invoke(Function::ResetPage, &[(TOKEN, &token)]).await.0,
        200
    );
    assert_eq!(r.invoke(Function::Discovery, &[]).await.0, 200);
    assert_eq!(r.invoke(Function::ValidatePassword, &[]).await.0, 200);
    assert_eq!(
        r.invoke(Function::ResetPassword, &[(TOKEN, &token)])
            .await
            .0,
        200
    );
    assert_eq!(r.invoke(Function::ResetPassword, &[]).await.0, 401);
    r.queued_links().await;

    // Codes: issue, a wrong guess, the right one.
    let (status, body) = r
        .invoke(Function::RequestUserReset, &[(KEY, &key), (USER, user_id)])
        .await;
    assert_eq!(status, 200, "{body}");
    let code = body["verificationCode"]
        .as_str()
        .expect("returnCode returns the code")
        .to_string();
    // A wrong code of the same form: every character shifted within its
    // class (codes are A-Z and 0-9), so it differs at every position.
    let wrong: String = code
        .chars()
        .map(|c| match c {
            '9' => '0',
            'Z' => 'A',
            c if c.is_ascii_alphanumeric() => (c as u8 + 1) as char,
            c => c,
        })
        .collect();
    assert_ne!(wrong, code);
    let (status, _) = r
        .invoke(
            Function::SetPassword,
            &[(KEY, &key), (USER, user_id), ("EXAMPLECODE", &wrong)],
        )
        .await;
    assert_ne!(status, 200, "a wrong code is refused");
    let (status, body) = r
        .invoke(
            Function::SetPassword,
            &[(KEY, &key), (USER, user_id), ("EXAMPLECODE", &code)],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    r.queued_links().await;

    // Signed links.
    assert_eq!(r.invoke(Function::SendResetLink, &nobody).await.0, 200);
    assert_eq!(r.invoke(Function::SendResetLink, &[]).await.0, 200);
    let link = r.queued_links().await.pop().expect("a signed link mail");
    let (status, _) = r
        .invoke(
            Function::ResetPasswordSigned,
            &[
                (USER, &link_param(&link, "user_id")),
                ("1795374000", &link_param(&link, "timestamp")),
                ("EXAMPLE_SIGNATURE", &link_param(&link, "signature")),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        r.invoke(Function::ResetPasswordSigned, &[(USER, user_id)])
            .await
            .0,
        400
    );

    // Account recovery with a session.
    assert_eq!(r.invoke(Function::RecoverAccount, &nobody).await.0, 200);
    assert_eq!(r.invoke(Function::RecoverAccount, &[]).await.0, 200);
    let link = r.queued_links().await.pop().expect("a recovery mail");
    let (status, body) = r
        .invoke(
            Function::ResetAccount,
            &[(TOKEN, &link_param(&link, "validation_code"))],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let access = body["token"]["access_token"].as_str().unwrap().to_string();
    let (status, body) = r
        .invoke(Function::OAuthUserinfo, &[(ACCESS, &access)])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(r.invoke(Function::OAuthUserinfo, &[]).await.0, 401);

    // Sign in with the password that set; rotate; present the rotated
    // token again (its family is revoked); revoke; a wrong password.
    let (status, body) = r.invoke(Function::OAuthToken, &[]).await;
    assert_eq!(status, 200, "{body}");
    let first = body["refresh_token"].as_str().unwrap().to_string();
    let password_grant =
        "grant_type=password&username=ada%40example.com&password=Fresh-Horse-42-Battery";
    let refresh_with = |t: &str| format!("grant_type=refresh_token&refresh_token={t}");
    let (status, body) = r
        .invoke(
            Function::OAuthToken,
            &[(password_grant, &refresh_with(&first))],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_string();
    let (status, _) = r
        .invoke(
            Function::OAuthToken,
            &[(password_grant, &refresh_with(&first))],
        )
        .await;
    assert_eq!(status, 400, "reuse");
    let sample_refresh = "rkr_EXAMPLE_REFRESH_TOKEN_REPLACE_ME_0000000";
    assert_eq!(
        r.invoke(Function::OAuthRevoke, &[(sample_refresh, &second)])
            .await
            .0,
        200
    );
    assert_eq!(r.invoke(Function::OAuthRevoke, &[]).await.0, 200);
    let wrong = "grant_type=password&username=ada%40example.com&password=Wrong-Horse-42";
    assert_eq!(
        r.invoke(Function::OAuthToken, &[(password_grant, wrong)])
            .await
            .0,
        400
    );
    let unknown = "grant_type=password&username=nobody%40example.com&password=Wrong-Horse-42";
    assert_eq!(
        r.invoke(Function::OAuthToken, &[(password_grant, unknown)])
            .await
            .0,
        400
    );

    // send-email: the notice of that change, from the stream sample.
    let item = r.store.pending_mail(1).await.unwrap().remove(0);
    r.store.take();
    let outbox_dir = tempfile::tempdir().unwrap();
    let outbox = Outbox {
        store: r.store.clone(),
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            outbox_dir.path().to_path_buf(),
            "no-reply@acme.example",
        )),
        keys: r.config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: None,
        directory: None,
    };
    for subs in [
        &[
            ("EXAMPLE-OUTBOX-ID", item.id.as_str()),
            ("EXAMPLE_SEALED_MESSAGE", item.sealed.as_str()),
        ][..],
        &[],
    ] {
        let event = serde_json::from_str(&event_text(iam::STREAM_FUNCTION, subs)).unwrap();
        let result = rekey::delivery::stream::deliver_batch(&outbox, event).await;
        assert!(result.batch_item_failures.is_empty());
        r.check(iam::STREAM_FUNCTION);
    }
    assert_eq!(std::fs::read_dir(outbox_dir.path()).unwrap().count(), 1);

    // Every sample reached the store (the page and discovery excepted,
    // which must not).
    for f in iam::functions() {
        let seen = r.seen.get(f).map(BTreeSet::len).unwrap_or(0);
        if f == Function::ResetPage.name() || f == Function::Discovery.name() {
            assert_eq!(seen, 0, "{f} touches no store");
        } else {
            assert!(seen > 0, "{f}'s sample reached no store call");
        }
    }
    // The writes each flow exists for were reached, so the check above
    // covered them.
    let saw = |f: Function, m: StoreMethod| r.seen[f.name()].iter().any(|(c, _)| *c == m);
    assert!(saw(Function::RequestReset, StoreMethod::EnqueueIntake));
    assert!(saw(Function::SetPassword, StoreMethod::RecordAudit));
    assert!(saw(Function::SendResetLink, StoreMethod::EnqueueIntake));
    assert!(saw(Function::RecoverAccount, StoreMethod::EnqueueIntake));
    assert!(r.seen[iam::STREAM_FUNCTION].contains(&(StoreMethod::CompleteIntake, None)));
    assert!(r.seen[iam::STREAM_FUNCTION].contains(&(StoreMethod::UserByEmail, None)));
    assert!(saw(Function::ResetPasswordSigned, StoreMethod::Grant));
    assert!(saw(Function::ResetAccount, StoreMethod::ChangePassword));
    assert!(saw(Function::OAuthToken, StoreMethod::InsertRefreshToken));
    assert!(saw(Function::OAuthToken, StoreMethod::RotateRefreshToken));
    assert!(saw(Function::OAuthToken, StoreMethod::RevokeRefreshFamily));
    assert!(saw(Function::OAuthRevoke, StoreMethod::RevokeRefreshFamily));
    assert!(r.seen[iam::STREAM_FUNCTION].contains(&(StoreMethod::MailDelivered, None)));
}
