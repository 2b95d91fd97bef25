//! Every log line written during complete flows, on both stores, at the most
//! verbose level, searched for tokens, keys, passwords and addresses.
//! Its own test binary: the subscriber is global, so lines from every
//! thread, SDK and blocking pool are captured.

#[path = "integration/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use rekey::App;
use rekey::domain::Scope;
use rekey::mail::Outbox;
use rekey::routes::Function;
use support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        // The Lambdas' own setup, at the most verbose level an operator
        // could ask for.
        rekey::telemetry::init(rekey::telemetry::LogFormat::Json, "trace", move || {
            writer.clone()
        });
        captured
    })
}

struct Secrets {
    token: String,
    key: String,
    email: String,
    access_token: String,
}

async fn run_flow(app: &App, outbox: &Outbox, stream: Option<&mut StreamReader>) -> Secrets {
    let store = app.reset.store().clone();
    let email = unique_email();
    let user = add_user(&*store, &config(), &email).await;
    let key = add_key(&*store, &[Scope::ResetRequest]).await;
    let body = serde_json::json!({"email": email}).to_string();
    let headers = [
        ("content-type", "application/json"),
        ("requestToken", key.as_str()),
    ];
    let resp = Function::RequestReset
        .handle(
            app,
            apigw_request("POST", "/api/User/authreset", &[], &headers, Some(&body)),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Deliver the way each deployment does: stream on AWS, worker locally;
    // first the address request (the look-up and the mail it queues).
    let mut stream = stream;
    match stream.as_deref_mut() {
        Some(s) => {
            let (_, event) = s.next_event().await;
            let r = rekey::mail::stream::consume_batch(&app.reset, outbox, event).await;
            assert!(r.batch_item_failures.is_empty());
        }
        None => assert_eq!(app.reset.drain_intake(10).await.unwrap(), 1),
    }
    let item = store.pending_mail(1).await.unwrap().remove(0);
    let job = rekey::mail::MailJob::open(&outbox.keys, &item).unwrap();
    let rekey::mail::MailMessage::ResetLink { link, .. } = job.message else {
        panic!()
    };
    let token = token_from_link_text(&link);
    match stream {
        Some(s) => {
            let (_, event) = s.next_event().await;
            let r = rekey::mail::stream::consume_batch(&app.reset, outbox, event).await;
            assert!(r.batch_item_failures.is_empty());
        }
        None => assert_eq!(outbox.drain(10).await.unwrap(), 1),
    }
    let validate = apigw_request(
        "GET",
        "/auth/reset/validate",
        &[("token", &token)],
        &[],
        None,
    );
    assert_eq!(
        Function::ValidateToken.handle(app, validate).await.status(),
        200
    );
    for password in ["password", NEW_PASSWORD, NEW_PASSWORD] {
        let body = serde_json::json!({"token": token, "password": password}).to_string();
        let req = apigw_request(
            "POST",
            "/auth/reset/password",
            &[],
            &[("content-type", "application/json")],
            Some(&body),
        );
        Function::ResetPassword.handle(app, req).await;
    }
    let body = serde_json::json!({"password": NEW_PASSWORD}).to_string();
    let req = apigw_request(
        "POST",
        "/auth/reset/validate-password",
        &[],
        &[("content-type", "application/json")],
        Some(&body),
    );
    assert_eq!(
        Function::ValidatePassword.handle(app, req).await.status(),
        200
    );
    // userinfo with a valid token, a tampered one and an expired one (the
    // refusals log their reason).
    let user = store.user(&user.id).await.unwrap().unwrap();
    let now = rekey::domain::now();
    let claims = |exp| rekey::signing::AccessClaims {
        iss: "https://api.example.com".into(),
        sub: user.id.to_string(),
        aud: "rekey".into(),
        exp,
        iat: now,
        jti: "j-1".into(),
        client_id: "rekey".into(),
        scope: "account".into(),
        ver: user.credential_version.0,
    };
    let sign = |exp| async move {
        rekey::signing::jwt::sign_access_token(signer().as_ref(), &claims(exp))
            .await
            .unwrap()
    };
    let access_token = sign(now + 600).await;
    let expired = sign(now - 600).await;
    let tampered = format!("{}AA", &access_token[..access_token.len() - 2]);
    for (token, status) in [(&access_token, 200), (&tampered, 401), (&expired, 401)] {
        let bearer = format!("Bearer {token}");
        let req = apigw_request(
            "GET",
            "/oauth/userinfo",
            &[],
            &[("authorization", &bearer)],
            None,
        );
        assert_eq!(
            Function::OAuthUserinfo.handle(app, req).await.status(),
            status
        );
    }
    Secrets {
        token,
        key,
        email,
        access_token,
    }
}

fn assert_clean(secrets: &Secrets) {
    let text = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(text.lines().count() > 5, "the flow logged: {text}");
    for (what, secret) in [
        ("link token", secrets.token.as_str()),
        ("link token body", &secrets.token[4..]),
        ("API key", secrets.key.as_str()),
        ("access token", secrets.access_token.as_str()),
        (
            "access token signature",
            secrets.access_token.rsplit('.').next().unwrap(),
        ),
        ("email address", secrets.email.as_str()),
        ("old password", OLD_PASSWORD),
        ("new password", NEW_PASSWORD),
    ] {
        let hit = text
            .lines()
            .find(|l| l.contains(secret))
            .map(|l| l.chars().take(600).collect::<String>());
        assert!(
            hit.is_none(),
            "a log line contains the {what}: {}",
            hit.unwrap_or_default().replace(secret, "<SECRET>")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_log_line() {
    logs();
    let config = config();

    // AWS: DynamoDB and SES on moto, the stream feeding send-email.
    let store = dynamo_store().await;
    let mut stream = StreamReader::open(store.table_name()).await;
    let store: Arc<dyn rekey::Store> = Arc::new(store);
    let ses = aws_sdk_sesv2::Client::new(&aws_config().await);
    ses.create_email_identity()
        .email_identity("no-reply@acme.example")
        .send()
        .await
        .unwrap();
    let outbox = Outbox {
        store: store.clone(),
        mailer: Arc::new(rekey::mail::ses::SesMailer::new(
            ses,
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
    };
    let app = App::new(&config, store).with_signer(signer());
    let secrets = run_flow(&app, &outbox, Some(&mut stream)).await;
    assert_clean(&secrets);

    // Local: the embedded store and the file mailer.
    let embedded = embedded_store();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn rekey::Store> = Arc::new(embedded.store.clone());
    let outbox = Outbox {
        store: store.clone(),
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            dir.path().to_path_buf(),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
    };
    let app = App::new(&config, store).with_signer(signer());
    let secrets = run_flow(&app, &outbox, None).await;
    assert_clean(&secrets);
}
