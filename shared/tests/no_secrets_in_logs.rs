//! Every log line written during complete flows, on both stores, at the most
//! verbose level, searched for tokens, keys, passwords and addresses.
//! Its own test binary: the subscriber is global, so lines from every
//! thread, SDK and blocking pool are captured.

// Test code: a failed unwrap or expect is a failed test (clippy.toml allows
// them in #[test] functions; the helpers here need the same).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "integration/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use rekey::App;
use rekey::delivery::Outbox;
use rekey::domain::Scope;
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
    /// What the OAuth endpoints saw and answered: (what, secret).
    oauth: Vec<(&'static str, String)>,
}

const CLIENT_SECRET: &str = "svc-client-secret-do-not-log";
const WRONG_GUESS: &str = "Wrong-Sign-In-Guess-77";

fn config_with_client() -> rekey::Config {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(CLIENT_SECRET.as_bytes()));
    let clients = serde_json::json!([{"id": "svc", "auth_method": "client_secret_post",
        "secret_sha256": digest, "scopes": ["account"], "audience": "svc", "first_party": true}]);
    config_with(&[("REKEY_OAUTH_CLIENTS", &clients.to_string())])
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn oauth_post(app: &App, function: Function, pairs: &[(&str, &str)]) -> serde_json::Value {
    let path = if function == Function::OAuthToken {
        "/oauth/token"
    } else {
        "/oauth/revoke"
    };
    let req = apigw_request(
        "POST",
        path,
        &[],
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form(pairs)),
    );
    let resp = function.handle(app, req).await;
    serde_json::from_slice(resp.body().as_ref()).unwrap_or(serde_json::Value::Null)
}

/// Sign in (right, wrong, unknown), rotate, reuse, revoke: what each saw
/// and answered must stay out of the logs.
async fn run_oauth_flow(app: &App, email: &str) -> Vec<(&'static str, String)> {
    let unknown = unique_email();
    let grant = |user: &str, password: &str| {
        vec![
            ("grant_type", "password".to_string()),
            ("username", user.to_string()),
            ("password", password.to_string()),
            ("client_id", "svc".to_string()),
            ("client_secret", CLIENT_SECRET.to_string()),
        ]
    };
    let call = |pairs: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, String)> = pairs;
        async move {
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            oauth_post(app, Function::OAuthToken, &borrowed).await
        }
    };
    let signed_in = call(grant(email, NEW_PASSWORD)).await;
    let refresh = signed_in["refresh_token"]
        .as_str()
        .expect("signed in")
        .to_string();
    let access = signed_in["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        call(grant(email, WRONG_GUESS)).await["error"],
        "invalid_grant"
    );
    assert_eq!(
        call(grant(&unknown, WRONG_GUESS)).await["error"],
        "invalid_grant"
    );
    let refresh_with = |t: &str| {
        vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", t.to_string()),
            ("client_id", "svc".to_string()),
            ("client_secret", CLIENT_SECRET.to_string()),
        ]
    };
    let rotated = call(refresh_with(&refresh)).await;
    let next = rotated["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_string();
    // Reuse: the family is revoked (and logged, without the token).
    assert_eq!(call(refresh_with(&refresh)).await["error"], "invalid_grant");
    oauth_post(
        app,
        Function::OAuthRevoke,
        &[
            ("token", &next),
            ("client_id", "svc"),
            ("client_secret", CLIENT_SECRET),
        ],
    )
    .await;
    vec![
        ("refresh token", refresh.clone()),
        ("refresh token body", refresh[4..].to_string()),
        ("rotated refresh token", next),
        ("access token", access),
        ("client secret", CLIENT_SECRET.to_string()),
        ("wrong password", WRONG_GUESS.to_string()),
        ("unknown address", unknown),
    ]
}

async fn run_flow(app: &App, outbox: &Outbox, stream: Option<&mut StreamReader>) -> Secrets {
    let store = app.store().clone();
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
            let r = rekey::delivery::stream::consume_batch(&app.reset, outbox, event).await;
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
            let r = rekey::delivery::stream::consume_batch(&app.reset, outbox, event).await;
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
    // The hosted page at both its paths, the token in the query as a mailed
    // link (or a recovery link) carries it.
    for (path, name) in [("/reset", "token"), ("/account/reset", "validation_code")] {
        let page = apigw_request("GET", path, &[(name, &token)], &[], None);
        assert_eq!(Function::ResetPage.handle(app, page).await.status(), 200);
    }
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
    let mut oauth = run_oauth_flow(app, &email).await;
    // userinfo with a valid token, a tampered one and an expired one (the
    // refusals log their reason).
    let user = store.user(&user.id).await.unwrap().unwrap();
    let now = now_secs();
    let claims = |exp| rekey::access_token::AccessClaims {
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
        rekey::access_token::jwt::sign_access_token(signer().as_ref(), &claims(exp))
            .await
            .unwrap()
    };
    let access_token = sign(now + 600).await;
    let expired = sign(now - 600).await;
    // One signature character changed, whatever it was (replacing the
    // last two with "AA" left one token in 256 unchanged).
    let mut tampered = access_token.clone().into_bytes();
    let middle = tampered.len() - 20;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (what, token, status) in [
        ("valid", &access_token, 200),
        ("tampered", &tampered, 401),
        ("expired", &expired, 401),
    ] {
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
            status,
            "userinfo with the {what} token"
        );
    }
    oauth.push(("userinfo access token", access_token.clone()));
    oauth.push((
        "userinfo access token's signature",
        access_token.rsplit('.').next().unwrap().to_string(),
    ));
    Secrets {
        token,
        key,
        email,
        oauth,
    }
}

fn assert_clean(secrets: &Secrets) {
    let text = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(text.lines().count() > 5, "the flow logged: {text}");
    for (what, secret) in [
        ("link token", secrets.token.as_str()),
        ("link token body", &secrets.token[4..]),
        ("API key", secrets.key.as_str()),
        ("email address", secrets.email.as_str()),
        ("old password", OLD_PASSWORD),
        ("new password", NEW_PASSWORD),
    ]
    .into_iter()
    .chain(secrets.oauth.iter().map(|(w, s)| (*w, s.as_str())))
    {
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
    let config = config_with_client();

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
        texts: None,
        mailer: Arc::new(rekey::mail::ses::SesMailer::new(
            ses,
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: None,
        directory: None,
    };
    let app = App::new(&config, store).with_signer(support::signer());
    let secrets = run_flow(&app, &outbox, Some(&mut stream)).await;
    assert_clean(&secrets);

    // Local: the embedded store and the file mailer.
    let embedded = embedded_store();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn rekey::Store> = Arc::new(embedded.store.clone());
    let outbox = Outbox {
        store: store.clone(),
        texts: None,
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            dir.path().to_path_buf(),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: None,
        directory: None,
    };
    let app = App::new(&config, store).with_signer(support::signer());
    let secrets = run_flow(&app, &outbox, None).await;
    assert_clean(&secrets);

    // A Cognito pool (moto) as the directory: look-ups of one user and of
    // an address two users share, a password the pool refuses, the change,
    // and the log-in answering the pool's tokens.
    let store: Arc<dyn rekey::Store> = Arc::new(embedded.store.clone());
    let pool = support::cognito::TestPool::new(Some(24)).await;
    let app = App::new(&config, store.clone()).with_directory(pool.directory(store, true).await);
    let email = unique_email();
    let user = pool.add_user(&email).await;
    let shared = unique_email();
    pool.add_user(&shared).await;
    pool.add_user(&shared).await;
    let client = rekey::domain::ClientInfo::default();
    for address in [&shared, &email] {
        let address = rekey::domain::EmailAddress::parse(address).unwrap();
        deliver_now(
            &app.reset,
            rekey::reset::AddressRequest::Recovery,
            &address,
            &client,
        )
        .await;
    }
    let link = take_links(app.store(), &config).await.pop().unwrap();
    let token = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "validation_code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let refused = "Short-Passw0rd-horse";
    // Not "Pool": the pool user is "Ada Pool", and a password may not
    // contain the user's name (context_words).
    let long = "A-Longer-Passw0rd-the-Directory-Takes";
    let mut refresh = String::new();
    for password in [refused, long] {
        let body = serde_json::json!({"validation_code": token, "password": password}).to_string();
        let req = apigw_request(
            "POST",
            "/api/v2/account/reset/",
            &[],
            &[("content-type", "application/json")],
            Some(&body),
        );
        let resp = Function::ResetAccount.handle(&app, req).await;
        if password == long {
            assert_eq!(
                resp.status(),
                200,
                "{}",
                String::from_utf8_lossy(resp.body())
            );
            refresh = response_json(&resp)["token"]["refresh_token"]
                .as_str()
                .unwrap()
                .to_string();
        } else {
            assert_eq!(resp.status(), 400);
        }
    }
    assert_clean(&Secrets {
        token,
        key: refresh,
        email: email.clone(),
        oauth: Vec::new(),
    });
    let text = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    for (what, secret) in [
        ("shared address", shared.as_str()),
        ("pool password", pool.password.as_str()),
        ("refused password", refused),
        ("new password", long),
    ] {
        assert!(!text.contains(secret), "a log line contains the {what}");
    }
    assert!(
        text.contains(user.sub.as_str()),
        "pool users are logged by sub"
    );
}

/// A password change told to a webhook endpoint that fails once: neither
/// the endpoint's secret, nor a signature, nor the password hash, nor the
/// address the event names reaches a log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_webhook_secret_reaches_a_log_line() {
    use rekey::webhook::sender::{RetryQueue, WebhookClient, WebhookSender};
    logs();
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let receiver = support::webhook_receiver::Receiver::start(&[500]).await;
    let hooks = format!(
        r#"[{{"name": "app", "url": "{}", "include_password_hash": true}}]"#,
        receiver.url
    );
    let config = config_with(&[("REKEY_WEBHOOKS", &hooks)]);
    let embedded = embedded_store();
    let store: Arc<dyn rekey::Store> = Arc::new(embedded.store.clone());

    struct Kept(Mutex<Vec<rekey::domain::OutboxItem>>);
    #[async_trait::async_trait]
    impl RetryQueue for Kept {
        async fn schedule(
            &self,
            item: &rekey::domain::OutboxItem,
            _: u32,
            _: std::time::Duration,
        ) -> Result<(), rekey::webhook::WebhookError> {
            self.0.lock().unwrap().push(item.clone());
            Ok(())
        }
        async fn dead_letter(
            &self,
            _: &rekey::domain::OutboxItem,
            _: &str,
        ) -> Result<(), rekey::webhook::WebhookError> {
            Ok(())
        }
    }
    let kept = Arc::new(Kept(Mutex::new(Vec::new())));
    let sender = Arc::new(WebhookSender {
        endpoints: rekey::webhook::Endpoints::parse(
            Some(&hooks),
            Some(&format!(r#"{{"app": "{SECRET}"}}"#)),
            None,
        )
        .unwrap(),
        keys: config.keys.clone(),
        client: WebhookClient::default(),
        retries: kept.clone(),
    });
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox {
        store: store.clone(),
        texts: None,
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            dir.path().to_path_buf(),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: Some(sender.clone()),
        directory: None,
    };
    let email = unique_email();
    let user = add_user(&*store, &config, &email).await;
    let reset = rekey::App::new(&config, store.clone()).reset;
    reset
        .set_password_with_proof(
            &user.id,
            NEW_PASSWORD,
            rekey::reset::PasswordProof::None,
            &api_key(&[Scope::UsersWrite, Scope::UsersAdmin]).1,
            &rekey::domain::ClientInfo::default(),
        )
        .await
        .unwrap();
    // The notice mail and the webhook (which fails, and is kept for retry).
    assert_eq!(outbox.drain(10).await.unwrap(), 1);
    let retry = kept.0.lock().unwrap().remove(0);
    sender.send(&retry, 2).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    let hash = store
        .user(&user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();

    let text = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("webhook delivered"), "the delivery logged");
    let mut secrets: Vec<(&str, String)> = vec![
        ("webhook secret", SECRET.to_string()),
        ("webhook key", SECRET["whsec_".len()..].to_string()),
        ("password hash", hash.clone()),
        (
            "password hash salt",
            hash.split('$').nth(4).unwrap().to_string(),
        ),
        ("email address", email.clone()),
        ("new password", NEW_PASSWORD.to_string()),
    ];
    for r in &received {
        let signature = r.headers["webhook-signature"].clone();
        secrets.push(("signature", signature["v1,".len()..].to_string()));
    }
    for (what, secret) in secrets {
        let hit = text.lines().find(|l| l.contains(&secret));
        assert!(
            hit.is_none(),
            "a log line contains the {what}: {}",
            hit.unwrap_or_default().replace(&secret, "<SECRET>")
        );
    }
}

/// The Pwned Passwords range check, found, not found and unavailable (a
/// warning is logged and the password judged by the other rules): neither
/// the password, nor its SHA-1, nor the five hex digits sent, nor the
/// range URL reaches a log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_range_check_detail_reaches_a_log_line() {
    use support::range_api::{range_server, sha1_hex};
    logs();
    // Prefixes with three letters or more: upper-case hex like that in a
    // log line is the prefix, not a number or a lower-case id.
    let mut passwords = (0..)
        .map(|i| format!("Orbital-Mechanics-{i}-Hampton"))
        .filter(|p| {
            sha1_hex(p)[..5]
                .bytes()
                .filter(u8::is_ascii_alphabetic)
                .count()
                >= 3
        });
    let (breached, clean) = (passwords.next().unwrap(), passwords.next().unwrap());
    let server = range_server(
        vec![(sha1_hex(&breached), 3)],
        std::time::Duration::ZERO,
        false,
    )
    .await;
    let config = config_with(&[
        ("REKEY_PWNED_PASSWORDS", "on"),
        ("REKEY_PWNED_PASSWORDS_URL", server.url.as_str()),
    ]);
    let embedded = embedded_store();
    let app = App::new(&config, Arc::new(embedded.store.clone()));
    let validate = |password: &str| {
        let body = serde_json::json!({ "password": password }).to_string();
        let req = apigw_request(
            "POST",
            "/auth/reset/validate-password",
            &[],
            &[("content-type", "application/json")],
            Some(&body),
        );
        let app = &app;
        async move { Function::ValidatePassword.handle(app, req).await.status() }
    };
    assert_eq!(validate(&breached).await, 400);
    assert_eq!(validate(&clean).await, 200);
    server
        .broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        validate(&clean).await,
        200,
        "accept: the other rules decide"
    );
    assert_eq!(server.seen.lock().unwrap().len(), 3);

    let text = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("Pwned Passwords range check unavailable"),
        "the unavailable check is logged"
    );
    for password in [&breached, &clean] {
        let sha = sha1_hex(password);
        for (what, secret) in [
            ("password", password.clone()),
            ("SHA-1", sha.clone()),
            ("SHA-1 (lower case)", sha.to_ascii_lowercase()),
            ("SHA-1 suffix", sha[5..].to_string()),
            ("SHA-1 prefix", sha[..5].to_string()),
            ("range URL", format!("range/{}", &sha[..5])),
        ] {
            let hit = text
                .lines()
                .find(|l| l.contains(&secret))
                .map(|l| l.chars().take(600).collect::<String>());
            assert!(
                hit.is_none(),
                "a log line contains the {what}: {}",
                hit.unwrap_or_default().replace(&secret, "<SECRET>")
            );
        }
    }
}

/// Reset by text on DynamoDB and SNS (moto), the stream feeding
/// send-email: the request in both Zitadel dialects, the text sent, the
/// code used, an opted-out number dead-lettered, a user without a verified
/// number refused. Neither number (with or without its `+`), nor the code,
/// nor the link reaches a log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_phone_number_or_texted_code_reaches_a_log_line() {
    logs();
    let config = config_with(&[("REKEY_SMS_COUNTRY_CALLING_CODES", "+1")]);
    let store = dynamo_store().await;
    let mut stream = StreamReader::open(store.table_name()).await;
    let store: Arc<dyn rekey::Store> = Arc::new(store);
    let outbox = Outbox {
        store: store.clone(),
        texts: Some(Arc::new(sns_texter().await)),
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            tempfile::tempdir().unwrap().keep(),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: None,
        directory: None,
    };
    let app = App::new(&config, store.clone());
    let key = add_key_for(
        &*store,
        &[Scope::UsersWrite],
        rekey::domain::OrgBinding::AllOrgs,
    )
    .await;
    let auth = format!("Bearer {key}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    let add = |phone: rekey::domain::PhoneNumber, verified: bool| {
        let store = store.clone();
        async move {
            let mut user = rekey::domain::User::new(
                rekey::domain::UserId::generate(),
                rekey::domain::EmailAddress::parse(&unique_email()).unwrap(),
                rekey::clock::Clock::now(&rekey::clock::SystemClock),
            );
            user.phone = Some(phone);
            user.phone_verified = verified;
            store.insert_user(&user).await.unwrap();
            user
        }
    };
    let post = |path: &str, body: serde_json::Value| {
        apigw_request("POST", path, &[], &headers, Some(&body.to_string()))
    };
    let sms = serde_json::json!({"notificationType": "NOTIFICATION_TYPE_SMS"});
    let (phone, opted_out, unverified) = (unique_phone(), opted_out_number(), unique_phone());
    let user = add(phone.clone(), true).await;
    let gone = add(opted_out.clone(), true).await;
    let refused = add(unverified.clone(), false).await;
    stream.next_event().await; // the setup's writes
    for u in [&user, &gone, &refused] {
        let resp = Function::RequestUserReset
            .handle(
                &app,
                post(
                    "/zitadel.user.v2.UserService/PasswordReset",
                    serde_json::json!({"userId": u.id.as_str(), "sendLink": sms}),
                ),
            )
            .await;
        let expected = if u.id == refused.id { 400 } else { 200 };
        assert_eq!(resp.status(), expected);
    }
    // The outbox items hold no number (the account records keep theirs, as
    // they keep the address).
    let (raw, event) = stream.next_event().await;
    let queued: Vec<String> = raw["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["dynamodb"]["NewImage"]["kind"]["S"] == "outbox")
        .map(|r| r.to_string())
        .collect();
    assert_eq!(queued.len(), 2, "two texts queued");
    for number in [&phone, &opted_out, &unverified] {
        let digits = &number.as_str()[1..];
        assert!(
            queued.iter().all(|r| !r.contains(digits)),
            "an outbox item holds a number"
        );
    }
    let r = rekey::delivery::stream::consume_batch(&app.reset, &outbox, event).await;
    assert!(r.batch_item_failures.is_empty());
    let text = sent_texts(phone.as_str()).await.pop().expect("texted");
    let code = text.split("code is ").nth(1).unwrap()[..6].to_string();
    let link = text.lines().last().unwrap().to_string();
    let body =
        serde_json::json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code});
    let path = format!("/v2/users/{}/password", user.id.as_str());
    let req = lambda_http::RequestExt::with_path_parameters(
        post(&path, body),
        std::collections::HashMap::from([("userId".to_string(), user.id.to_string())]),
    );
    assert_eq!(Function::SetPassword.handle(&app, req).await.status(), 200);
    let logged = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("dead-lettered"),
        "the opted-out text is logged"
    );
    for (what, secret) in [
        ("number", phone.as_str()),
        ("number's digits", &phone.as_str()[1..]),
        ("opted-out number", &opted_out.as_str()[1..]),
        ("unverified number", &unverified.as_str()[1..]),
        ("texted code", &code),
        ("texted link", &link),
    ] {
        let hit = logged.lines().find(|l| l.contains(secret));
        assert!(
            hit.is_none(),
            "a log line contains the {what}: {}",
            hit.unwrap_or_default().replace(secret, "<SECRET>")
        );
    }
}

/// The secrets a deployed function reads at init from Secrets Manager
/// (moto), at the most verbose level: the SDK's own trace lines (requests
/// and answers) included, no value reaches a log line; nor in a failed
/// read's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_read_from_secrets_manager_reaches_a_log_line() {
    use rekey::config::Environment;
    logs();
    let service = rekey::crypto::ServiceSecret::generate().1;
    let previous = rekey::crypto::ServiceSecret::generate().1;
    let hook = rekey::webhook::secret::WebhookSecret::generate();
    let arn = moto_secret("logs-service", &previous).await;
    put_secret_version(&arn, &service, "AWSCURRENT").await;
    let hooks = moto_secret("logs-webhooks", &format!(r#"{{"app": "{hook}"}}"#)).await;
    let vars = |rotation: &str| {
        Environment::from_pairs([
            ("REKEY_SECRET_ID", arn.as_str()),
            ("REKEY_SECRET_ROTATION", rotation),
            ("REKEY_WEBHOOK_SECRETS_ID", hooks.as_str()),
            ("AWS_ENDPOINT_URL", moto_endpoint().as_str()),
            ("AWS_REGION", "us-east-1"),
        ])
    };
    let env = rekey::secrets_manager::resolve(vars("previous"))
        .await
        .expect("the secrets are on moto");
    assert_eq!(env.get("REKEY_SECRET").as_deref(), Some(service.as_str()));
    // A failed read, logged as a function's init would be: a rotation
    // phase on a secret that has no version at its stage.
    let lone = moto_secret("logs-lone", &service).await;
    let failed = rekey::secrets_manager::resolve(Environment::from_pairs([
        ("REKEY_SECRET_ID", lone.as_str()),
        ("REKEY_SECRET_ROTATION", "pending"),
        ("AWS_ENDPOINT_URL", moto_endpoint().as_str()),
        ("AWS_REGION", "us-east-1"),
    ]))
    .await
    .err()
    .expect("no AWSPENDING nor AWSPREVIOUS");
    tracing::error!(error = %failed, "init failed");

    let text = String::from_utf8(logs().0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("GetSecretValue"),
        "the SDK's trace lines were captured"
    );
    assert!(text.contains("AWSPREVIOUS"), "the failure was logged");
    for (what, secret) in [
        ("service secret", service.as_str()),
        ("previous service secret", previous.as_str()),
        ("webhook secret", hook.as_str()),
    ] {
        assert!(
            !text.contains(secret),
            "a log line contains the {what} read from Secrets Manager"
        );
    }
}
