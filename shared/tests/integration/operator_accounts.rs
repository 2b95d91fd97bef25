//! Accounts an operator manages: imported hashes (bcrypt, Django
//! pbkdf2_sha256) verify and are upgraded to argon2id on verification, and a
//! disabled account gets no mail and its outstanding link stops working.

use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::domain::{ApiKey, ClientInfo, EmailAddress, Scope, User, UserId};
use rekey::mail::{MailJob, MailMessage};
use rekey::reset::PasswordProof;
use rekey::routes::Function;
use rekey::store::Store;

async fn imported_user(store: &dyn Store, hash: String) -> User {
    let mut user = User::new(
        UserId::generate(),
        EmailAddress::parse(&unique_email()).unwrap(),
        now(),
    );
    user.password_hash = Some(hash);
    store.insert_user(&user).await.unwrap();
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_hashes_verify_and_are_upgraded_to_argon2id() {
    let config = config();
    let e = embedded_store();
    let store: Arc<dyn Store> = Arc::new(e.store.clone());
    let service = rekey::App::new(&config, store.clone()).passwords;
    let p = config.hash_params;
    let current = format!(
        "$argon2id$v=19$m={},t={},p={}$",
        p.memory_kib, p.iterations, p.parallelism
    );
    for (scheme, hash) in [
        ("bcrypt", bcrypt_hash(IMPORTED)),
        ("django", django_hash(IMPORTED)),
    ] {
        rekey::password::HashScheme::validate(&hash).unwrap();
        let user = imported_user(&*store, hash.clone()).await;

        assert!(
            !service
                .verify(&user, "Wrong-Pass-9!x", &ClientInfo::default())
                .await
                .unwrap(),
            "{scheme}: a wrong password does not verify"
        );
        assert_eq!(
            store.user(&user.id).await.unwrap().unwrap(),
            user,
            "{scheme}: a failed verification changes nothing"
        );

        assert!(
            service
                .verify(&user, IMPORTED, &ClientInfo::default())
                .await
                .unwrap(),
            "{scheme}: the imported password verifies"
        );
        let after = store.user(&user.id).await.unwrap().unwrap();
        let upgraded = after.password_hash.clone().unwrap();
        assert!(
            upgraded.starts_with(&current),
            "{scheme}: now {upgraded:.30}"
        );
        assert_eq!(
            after.credential_version, user.credential_version,
            "{scheme}: an upgrade is not a password change"
        );
        assert!(store.pending_mail(10).await.unwrap().is_empty());
        // The upgraded hash verifies, needs no further upgrade, and refuses
        // a wrong password.
        assert!(
            service
                .verify(&after, IMPORTED, &ClientInfo::default())
                .await
                .unwrap()
        );
        assert_eq!(
            store.user(&user.id).await.unwrap().unwrap().password_hash,
            Some(upgraded)
        );
        assert!(
            !service
                .verify(&after, "nope", &ClientInfo::default())
                .await
                .unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_current_password_may_be_an_imported_hash() {
    let config = config();
    let e = embedded_store();
    let store: Arc<dyn Store> = Arc::new(e.store.clone());
    let service = rekey::App::new(&config, store.clone()).reset;
    let key = ApiKey {
        digest: rekey::crypto::SecretDigest::of("rkk_test"),
        name: "t".into(),
        scopes: vec![Scope::UsersWrite],
        created_at: now(),
        revoked: false,
        org: Default::default(),
    };
    let user = imported_user(&*store, bcrypt_hash(IMPORTED)).await;
    let wrong = service
        .set_password_with_proof(
            &user.id,
            NEW_PASSWORD,
            PasswordProof::CurrentPassword("Wrong-Pass-9!x".into()),
            &key,
            &ClientInfo::default(),
        )
        .await;
    assert!(matches!(
        wrong,
        Err(rekey::ResetError::WrongCurrentPassword)
    ));
    service
        .set_password_with_proof(
            &user.id,
            NEW_PASSWORD,
            PasswordProof::CurrentPassword(IMPORTED.into()),
            &key,
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let after = store.user(&user.id).await.unwrap().unwrap();
    assert!(after.password_hash.unwrap().starts_with("$argon2id$"));
    assert_eq!(after.credential_version.0, user.credential_version.0 + 1);
}

fn token_of(config: &rekey::Config, item: &rekey::domain::OutboxItem) -> String {
    let MailMessage::ResetLink { link, .. } = MailJob::open(&config.keys, item).unwrap().message
    else {
        panic!("not a link mail")
    };
    let url = url::Url::parse(&link).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_gets_no_mail_and_its_link_stops_working() {
    let config = config();
    let e = embedded_store();
    let store: Arc<dyn Store> = Arc::new(e.store.clone());
    let app = App::new(&config, store.clone());
    let key = add_key(&*store, &[Scope::ResetRequest]).await;
    let email = unique_email();
    let user = add_user(&*store, &config, &email).await;
    let body = serde_json::json!({ "email": email }).to_string();
    let request_reset = || {
        Function::RequestReset.handle(
            &app,
            apigw_request(
                "POST",
                "/api/User/authreset",
                &[],
                &[("content-type", "application/json"), ("requestToken", &key)],
                Some(&body),
            ),
        )
    };
    let validate = |token: String| {
        Function::ValidateToken.handle(
            &app,
            apigw_request(
                "GET",
                "/auth/reset/validate",
                &[("token", &token)],
                &[],
                None,
            ),
        )
    };

    let first = request_reset().await;
    app.reset.drain_intake(10).await.unwrap();
    assert_eq!(first.status(), 200);
    let queued = store.pending_mail(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    let token = token_of(&config, &queued[0]);
    assert_eq!(validate(token.clone()).await.status(), 200);

    store.set_user_disabled(&user.id, true).await.unwrap();
    let second = request_reset().await;
    app.reset.drain_intake(10).await.unwrap();
    assert_eq!(second.status(), first.status(), "the same answer");
    assert_eq!(
        response_json(&second),
        response_json(&first),
        "the same body"
    );
    assert_eq!(
        store.pending_mail(10).await.unwrap().len(),
        1,
        "no mail for a disabled account"
    );
    let refused = validate(token.clone()).await.status();
    let unknown = validate(format!("rkt_{}", "Q".repeat(43))).await.status();
    assert_ne!(refused, 200, "the outstanding link stops validating");
    assert_eq!(refused, unknown, "as if it never existed");

    // Enabled again, the account gets mail again, and the link from before
    // it was disabled stays dead.
    store.set_user_disabled(&user.id, false).await.unwrap();
    assert_eq!(
        validate(token.clone()).await.status(),
        unknown,
        "not revived"
    );
    assert_eq!(request_reset().await.status(), 200);
    app.reset.drain_intake(10).await.unwrap();
    assert_eq!(store.pending_mail(10).await.unwrap().len(), 2);
}
