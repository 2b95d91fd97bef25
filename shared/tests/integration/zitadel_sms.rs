//! Zitadel's PasswordReset with `sendLink.notificationType` SMS, in both
//! dialects, on both stores and with a Cognito pool: the code is texted
//! through the outbox (sealed) and SNS on moto, read back from moto and
//! used with SetPassword; who may be texted (a verified number in an
//! allowed country), the limits against SMS pumping, and opted-out numbers.

use std::collections::HashMap;
use std::sync::Arc;

use crate::on_both_stores;
use crate::support::*;
use lambda_http::RequestExt;
use rekey::App;
use rekey::delivery::{Delivery, Outbox};
use rekey::domain::{OrgBinding, PhoneNumber, Scope, User};
use rekey::routes::Function;
use serde_json::{Value, json};

type Resp = lambda_http::Response<lambda_http::Body>;

const JSON: (&str, &str) = ("content-type", "application/json");
const TEXTS_ON: (&str, &str) = ("REKEY_SMS_COUNTRY_CALLING_CODES", "+1,+44");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Rest,
    Connect,
}

/// A call of a Zitadel function on `user` with `key`, in `via`'s dialect.
async fn call(app: &App, via: Via, function: Function, key: &str, user: &str, body: Value) -> Resp {
    let auth = format!("Bearer {key}");
    let headers = [JSON, ("authorization", auth.as_str())];
    let req = match via {
        Via::Rest => {
            let path = match function {
                Function::RequestUserReset => format!("/v2/users/{user}/password_reset"),
                _ => format!("/v2/users/{user}/password"),
            };
            apigw_request("POST", &path, &[], &headers, Some(&body.to_string()))
                .with_path_parameters(HashMap::from([("userId".to_string(), user.to_string())]))
        }
        Via::Connect => {
            let mut body = body;
            body["userId"] = json!(user);
            apigw_request(
                "POST",
                post_path(function),
                &[],
                &headers,
                Some(&body.to_string()),
            )
        }
    };
    function.handle(app, req).await
}

fn sms(notification: Value) -> Value {
    json!({"sendLink": {"notificationType": notification}})
}

/// An app on `store` with texts on (and `extra`), its users:write key, and
/// an outbox that texts through SNS on moto.
async fn deployment(store: Arc<dyn rekey::Store>, extra: &[(&str, &str)]) -> (App, String, Outbox) {
    let vars: Vec<(&str, &str)> = [TEXTS_ON]
        .into_iter()
        .chain(extra.iter().copied())
        .collect();
    let config = config_with(&vars);
    let key = add_key_for(&*store, &[Scope::UsersWrite], OrgBinding::AllOrgs).await;
    let outbox = Outbox {
        store: store.clone(),
        texts: Some(Arc::new(sns_texter().await)),
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            std::env::temp_dir().join(unique("rekey-sms-mail")),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: config.product_name.clone(),
        webhooks: None,
        directory: None,
    };
    (App::new(&config, store), key, outbox)
}

async fn user_with_phone(
    store: &dyn rekey::Store,
    phone: Option<&PhoneNumber>,
    verified: bool,
) -> User {
    let mut user = User::new(
        rekey::domain::UserId::generate(),
        rekey::domain::EmailAddress::parse(&unique_email()).unwrap(),
        rekey::clock::Clock::now(&rekey::clock::SystemClock),
    );
    user.phone = phone.cloned();
    user.phone_verified = verified;
    user.password_hash = Some(
        rekey::password::CredentialHasher::new(config().hash_params)
            .hash(&rekey::password::NewPassword::normalize(OLD_PASSWORD))
            .unwrap(),
    );
    store.insert_user(&user).await.unwrap();
    user
}

/// The code in the newest text to `number` moto recorded.
async fn texted_code(number: &PhoneNumber, codes_seen: usize) -> String {
    let texts = sent_texts(number.as_str()).await;
    assert_eq!(texts.len(), codes_seen, "texts to the number");
    let text = texts.last().unwrap();
    // "Acme: your password reset code is K7P2QX. It expires in ..."
    let code = text
        .split("code is ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_else(|| panic!("no code in {text:?}"));
    assert!(text.contains("https://"), "the link is texted too: {text}");
    code.to_string()
}

/// The outbox's one pending item delivered; asserts it is a sealed text.
async fn deliver_text(outbox: &Outbox, number: &PhoneNumber) -> Delivery {
    let items = outbox.store.pending_mail(10).await.unwrap();
    assert_eq!(items.len(), 1, "one queued text");
    let item = &items[0];
    assert!(rekey::sms::is_text(item), "{}", item.id);
    for leak in [number.as_str(), &number.as_str()[1..]] {
        assert!(!item.sealed.contains(leak) && !item.id.contains(leak));
    }
    outbox.deliver(item).await.unwrap()
}

async fn texted_code_sets_the_password(store: Arc<dyn rekey::Store>) {
    let (app, key, outbox) = deployment(store.clone(), &[]).await;
    let mut texts = 0;
    for (via, notification) in [
        (Via::Rest, json!("NOTIFICATION_TYPE_SMS")),
        (Via::Connect, json!("NOTIFICATION_TYPE_SMS")),
        (Via::Rest, json!(2)),
        (Via::Connect, json!(2)),
    ] {
        let phone = unique_phone();
        let user = user_with_phone(&*store, Some(&phone), true).await;
        let resp = call(
            &app,
            via,
            Function::RequestUserReset,
            &key,
            user.id.as_str(),
            sms(notification),
        )
        .await;
        let body = response_json(&resp);
        assert_eq!(resp.status(), 200, "{via:?}: {body}");
        assert!(body["details"]["sequence"].is_string(), "{body}");
        assert!(body.get("verificationCode").is_none(), "{body}");
        assert_eq!(deliver_text(&outbox, &phone).await, Delivery::Sent);
        texts += 1;
        let code = texted_code(&phone, 1).await;
        // No mail went to the address.
        assert!(outbox.store.pending_mail(10).await.unwrap().is_empty());
        let resp = call(
            &app,
            via,
            Function::SetPassword,
            &key,
            user.id.as_str(),
            json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code}),
        )
        .await;
        assert_eq!(resp.status(), 200, "{via:?}: {}", response_json(&resp));
        let stored = store.user(&user.id).await.unwrap().unwrap();
        assert!(verifies(
            &config(),
            NEW_PASSWORD,
            &stored.password_hash.unwrap()
        ));
        // The password-changed notice is mail, as ever.
        let notices = outbox.store.pending_mail(10).await.unwrap();
        assert!(notices.iter().all(|i| !rekey::sms::is_text(i)));
        for item in notices {
            outbox.store.mail_delivered(&item.id).await.unwrap();
        }
    }
    assert_eq!(texts, 4);
}

on_both_stores!(
    a_texted_code_sets_the_password,
    texted_code_sets_the_password
);

/// FAILED_PRECONDITION naming the reason, in each dialect.
fn failed_precondition(via: Via, resp: &Resp, reason: &str) {
    let body = response_json(resp);
    assert_eq!(resp.status(), 400, "{via:?}: {body}");
    match via {
        Via::Rest => assert_eq!(body["code"], 9, "{body}"),
        Via::Connect => assert_eq!(body["code"], "failed_precondition", "{body}"),
    }
    assert!(body["message"].as_str().unwrap().contains(reason), "{body}");
}

#[tokio::test]
async fn only_a_verified_number_in_an_allowed_country_is_texted() {
    let store: Arc<dyn rekey::Store> = Arc::new(embedded_store().store);
    let (app, key, _) = deployment(store.clone(), &[]).await;
    let phone = unique_phone();
    let unverified = user_with_phone(&*store, Some(&phone), false).await;
    let none = user_with_phone(&*store, None, false).await;
    let french = PhoneNumber::parse("+33612345678").unwrap();
    let abroad = user_with_phone(&*store, Some(&french), true).await;
    for via in [Via::Rest, Via::Connect] {
        for user in [&unverified, &none] {
            let resp = call(
                &app,
                via,
                Function::RequestUserReset,
                &key,
                user.id.as_str(),
                sms(json!(2)),
            )
            .await;
            failed_precondition(via, &resp, "no verified phone number");
        }
        let resp = call(
            &app,
            via,
            Function::RequestUserReset,
            &key,
            abroad.id.as_str(),
            sms(json!("NOTIFICATION_TYPE_SMS")),
        )
        .await;
        failed_precondition(via, &resp, "country calling code");
    }
    // Nothing was queued, and no code was issued (no sequence moved).
    assert!(store.pending_mail(10).await.unwrap().is_empty());
    assert_eq!(
        store.user(&unverified.id).await.unwrap().unwrap().sequence,
        0
    );

    // Texts off (the default): FAILED_PRECONDITION for every user.
    let config = config();
    let off = App::new(&config, store.clone());
    let verified = user_with_phone(&*store, Some(&unique_phone()), true).await;
    let resp = call(
        &off,
        Via::Connect,
        Function::RequestUserReset,
        &key,
        verified.id.as_str(),
        sms(json!(2)),
    )
    .await;
    failed_precondition(Via::Connect, &resp, "SMS delivery is not configured");
}

#[tokio::test]
async fn texts_are_limited_per_number_and_per_deployment() {
    let store: Arc<dyn rekey::Store> = Arc::new(embedded_store().store);
    let (app, key, _) = deployment(
        store.clone(),
        &[
            ("REKEY_LIMIT_SMS_PER_NUMBER_PER_MINUTE", "2"),
            ("REKEY_LIMIT_SMS_PER_HOUR", "3"),
        ],
    )
    .await;
    let phone = unique_phone();
    let user = user_with_phone(&*store, Some(&phone), true).await;
    let reset = |user: User, via| {
        let (app, key) = (&app, &key);
        async move {
            call(
                app,
                via,
                Function::RequestUserReset,
                key,
                user.id.as_str(),
                sms(json!(2)),
            )
            .await
        }
    };
    for _ in 0..2 {
        assert_eq!(reset(user.clone(), Via::Rest).await.status(), 200);
    }
    // The number's third text in a minute.
    for via in [Via::Rest, Via::Connect] {
        let resp = reset(user.clone(), via).await;
        assert_eq!(resp.status(), 429, "{via:?}");
        assert!(resp.headers().contains_key("retry-after"));
    }
    // The deployment's hourly ceiling: one more text in all, to anyone.
    let other = user_with_phone(&*store, Some(&unique_phone()), true).await;
    assert_eq!(reset(other.clone(), Via::Connect).await.status(), 200);
    let third = user_with_phone(&*store, Some(&unique_phone()), true).await;
    let resp = reset(third, Via::Rest).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(response_json(&resp)["code"], 8, "RESOURCE_EXHAUSTED");
    // Mail is not texts: its own limits.
    let mail = json!({"sendLink": {"notificationType": "NOTIFICATION_TYPE_Email"}});
    let resp = call(
        &app,
        Via::Rest,
        Function::RequestUserReset,
        &key,
        other.id.as_str(),
        mail,
    )
    .await;
    assert_eq!(resp.status(), 200);
    // The rate counters hold the number only as a keyed reference.
    let numbers = [phone.as_str(), &phone.as_str()[1..]];
    for item in store.pending_mail(20).await.unwrap() {
        assert!(numbers.iter().all(|n| !item.sealed.contains(n)));
    }
}

#[tokio::test]
async fn an_opted_out_number_is_dead_lettered_not_retried() {
    let store: Arc<dyn rekey::Store> = Arc::new(embedded_store().store);
    let (app, key, outbox) = deployment(store.clone(), &[]).await;
    let phone = opted_out_number();
    let user = user_with_phone(&*store, Some(&phone), true).await;
    let resp = call(
        &app,
        Via::Connect,
        Function::RequestUserReset,
        &key,
        user.id.as_str(),
        sms(json!("NOTIFICATION_TYPE_SMS")),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", response_json(&resp));
    assert_eq!(
        deliver_text(&outbox, &phone).await,
        Delivery::DeadLettered("OptedOut".into())
    );
    // Off the outbox: no retry texts (or bills) it again.
    assert!(store.pending_mail(10).await.unwrap().is_empty());
    assert!(sent_texts(phone.as_str()).await.is_empty());
}

#[tokio::test]
async fn a_worker_without_a_text_sender_leaves_the_text_queued() {
    let store: Arc<dyn rekey::Store> = Arc::new(embedded_store().store);
    let (app, key, outbox) = deployment(store.clone(), &[]).await;
    let outbox = Outbox {
        texts: None,
        ..outbox
    };
    let phone = unique_phone();
    let user = user_with_phone(&*store, Some(&phone), true).await;
    let resp = call(
        &app,
        Via::Rest,
        Function::RequestUserReset,
        &key,
        user.id.as_str(),
        sms(json!(2)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let item = store.pending_mail(10).await.unwrap().remove(0);
    assert!(outbox.deliver(&item).await.is_err());
    assert_eq!(store.pending_mail(10).await.unwrap().len(), 1);
}

/// A pool user's `phone_number`, texted only while `phone_number_verified`
/// is "true" in the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_users_verified_number_is_texted() {
    use aws_sdk_cognitoidentityprovider::types::AttributeType;
    let pool = crate::support::cognito::TestPool::new(None).await;
    let store: Arc<dyn rekey::Store> = Arc::new(embedded_store().store);
    // Two texts to one number within the minute.
    let (app, key, outbox) = deployment(
        store.clone(),
        &[("REKEY_LIMIT_SMS_PER_NUMBER_PER_MINUTE", "5")],
    )
    .await;
    let directory: Arc<dyn rekey::directory::Directory> =
        pool.directory(store.clone(), false).await;
    let app = app.with_directory(directory.clone());
    // send-email looks pool users up in the pool too (wiring::send_email).
    let outbox = Outbox {
        directory: Some(directory),
        ..outbox
    };
    let user = pool.add_user(&unique_email()).await;
    let phone = unique_phone();
    let set = |verified: &'static str| {
        let (pool, user, phone) = (&pool, &user, &phone);
        async move {
            pool.client
                .admin_update_user_attributes()
                .user_pool_id(&pool.pool_id)
                .username(&user.username)
                .user_attributes(
                    AttributeType::builder()
                        .name("phone_number")
                        .value(phone.as_str())
                        .build()
                        .unwrap(),
                )
                .user_attributes(
                    AttributeType::builder()
                        .name("phone_number_verified")
                        .value(verified)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    };
    // Zitadel's routes name a pool user by the pool's username.
    set("false").await;
    let resp = call(
        &app,
        Via::Connect,
        Function::RequestUserReset,
        &key,
        &user.username,
        sms(json!(2)),
    )
    .await;
    failed_precondition(Via::Connect, &resp, "no verified phone number");
    set("true").await;
    let resp = call(
        &app,
        Via::Rest,
        Function::RequestUserReset,
        &key,
        &user.username,
        sms(json!("NOTIFICATION_TYPE_SMS")),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", response_json(&resp));
    assert_eq!(deliver_text(&outbox, &phone).await, Delivery::Sent);
    let code = texted_code(&phone, 1).await;
    let resp = call(
        &app,
        Via::Connect,
        Function::SetPassword,
        &key,
        &user.username,
        json!({"newPassword": {"password": NEW_PASSWORD}, "verificationCode": code}),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", response_json(&resp));
    // A number changed in the pool after the request is not texted: the
    // queued text goes nowhere. (The password-changed notice is mail.)
    for item in outbox.store.pending_mail(10).await.unwrap() {
        assert!(!rekey::sms::is_text(&item));
        outbox.store.mail_delivered(&item.id).await.unwrap();
    }
    let resp = call(
        &app,
        Via::Connect,
        Function::RequestUserReset,
        &key,
        &user.username,
        sms(json!(2)),
    )
    .await;
    assert_eq!(resp.status(), 200, "{}", response_json(&resp));
    let changed = unique_phone();
    pool.client
        .admin_update_user_attributes()
        .user_pool_id(&pool.pool_id)
        .username(&user.username)
        .user_attributes(
            AttributeType::builder()
                .name("phone_number")
                .value(changed.as_str())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        deliver_text(&outbox, &phone).await,
        Delivery::DeadLettered("number changed".into())
    );
    assert_eq!(sent_texts(phone.as_str()).await.len(), 1);
    assert!(sent_texts(changed.as_str()).await.is_empty());
    assert!(
        pool.sign_in(&user, NEW_PASSWORD).await.is_some(),
        "the pool has the new password"
    );
}
