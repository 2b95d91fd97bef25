//! Every file in events/ (the samples for `sam local invoke` and
//! `cargo lambda invoke`) fed to its function, with the EXAMPLE placeholders
//! replaced by real values as an operator would: each gets the status it is
//! meant to produce.

use rekey::reset::AddressRequest;
use std::path::PathBuf;
use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::delivery::Outbox;
use rekey::domain::{EmailAddress, OrgBinding, Scope, User, UserId};
use rekey::routes::Function;
use serde_json::Value;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events")
}

fn event_text(name: &str, substitutions: &[(&str, &str)]) -> String {
    let path = events_dir().join(format!("{name}.json"));
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    substitutions
        .iter()
        .fold(raw, |acc, (from, to)| acc.replace(from, to))
}

async fn invoke(app: &App, function: Function, substitutions: &[(&str, &str)]) -> (u16, Value) {
    let text = event_text(function.name(), substitutions);
    let request = lambda_http::request::from_str(&text).expect("a valid API Gateway v2 event");
    let resp = function.handle(app, request).await;
    (resp.status().as_u16(), response_json(&resp))
}

const KEY: &str = "rkk_EXAMPLE_API_KEY_REPLACE_ME_000000000000000";
const TOKEN: &str = "rkt_EXAMPLE_LINK_TOKEN_REPLACE_ME_00000000000";
const USER: &str = "EXAMPLE-USER-ID";
const ACCESS: &str = "eyJ_EXAMPLE_ACCESS_TOKEN_REPLACE_ME";

#[test]
fn every_function_has_an_event_file_and_every_file_a_function() {
    let mut expected: Vec<String> = Function::ALL.iter().map(|f| f.name().to_string()).collect();
    expected.sort();
    let mut found: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string()
        })
        .collect();
    found.sort();
    assert_eq!(found, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_gets_its_status() {
    let config = config_with(&[(
        "REKEY_RESET_URLS_BY_ENTRY",
        r#"{"storefront": {"org": "acme", "url": "https://shop.example.com/reset?token={token}"}}"#,
    )]);
    let e = embedded_store();
    let app = App::new(&config, Arc::new(e.store.clone())).with_signer(crate::support::signer());
    let mut user = User::new(
        UserId::parse("ada-1").unwrap(),
        EmailAddress::parse("ada@example.com").unwrap(),
        now(),
    );
    user.org = Some("acme".into());
    user.name = Some("Ada".into());
    app.store().insert_user(&user).await.unwrap();
    // users:admin too: request-user-reset's sample asks returnCode.
    let key = add_key_for(
        &**app.store(),
        &[Scope::ResetRequest, Scope::UsersWrite, Scope::UsersAdmin],
        OrgBinding::Org("acme".into()),
    )
    .await;
    let user_id = user.id.as_str();

    let (status, _) = invoke(&app, Function::RequestReset, &[(KEY, &key)]).await;
    assert_eq!(status, 200);
    let link = take_links(app.store(), &config)
        .await
        .pop()
        .expect("a reset mail");
    assert!(
        link.starts_with("https://shop.example.com/reset?token="),
        "entry selects the template: {link}"
    );
    let token = link_param(&link, "token");

    let (status, body) = invoke(&app, Function::ValidateToken, &[(TOKEN, &token)]).await;
    assert_eq!(
        (status, body["email"].as_str()),
        (200, Some("ada@example.com"))
    );
    // The page: HTML, whatever the token; the token is not touched.
    let page = Function::ResetPage
        .handle(
            &app,
            lambda_http::request::from_str(&event_text("reset-page", &[(TOKEN, &token)])).unwrap(),
        )
        .await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        invoke(&app, Function::ValidateToken, &[(TOKEN, &token)])
            .await
            .0,
        200,
        "serving the page did not consume the token"
    );
    assert_eq!(invoke(&app, Function::ValidatePassword, &[]).await.0, 200);
    assert_eq!(
        invoke(&app, Function::ResetPassword, &[(TOKEN, &token)])
            .await
            .0,
        200
    );
    // Unfilled placeholders are refused like any bad credential.
    assert_eq!(invoke(&app, Function::ResetPassword, &[]).await.0, 401);

    let (status, body) = invoke(
        &app,
        Function::RequestUserReset,
        &[(KEY, &key), (USER, user_id)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let code = body["verificationCode"]
        .as_str()
        .expect("returnCode returns the code")
        .to_string();
    let (status, body) = invoke(
        &app,
        Function::SetPassword,
        &[(KEY, &key), (USER, user_id), ("EXAMPLECODE", &code)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    take_links(app.store(), &config).await;

    assert_eq!(invoke(&app, Function::SendResetLink, &[]).await.0, 200);
    let link = take_links(app.store(), &config)
        .await
        .pop()
        .expect("a signed link mail");
    let (status, body) = invoke(
        &app,
        Function::ResetPasswordSigned,
        &[
            (USER, &link_param(&link, "user_id")),
            ("1795374000", &link_param(&link, "timestamp")),
            ("EXAMPLE_SIGNATURE", &link_param(&link, "signature")),
        ],
    )
    .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (200, Some("Reset password successful"))
    );
    // As shipped, the sample's signature is refused in the dialect.
    assert_eq!(
        invoke(&app, Function::ResetPasswordSigned, &[(USER, user_id)])
            .await
            .0,
        400
    );

    assert_eq!(invoke(&app, Function::RecoverAccount, &[]).await.0, 200);
    let link = take_links(app.store(), &config)
        .await
        .pop()
        .expect("a recovery mail");
    let (status, body) = invoke(
        &app,
        Function::ResetAccount,
        &[(TOKEN, &link_param(&link, "validation_code"))],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token"]["token_type"], "Bearer");
    // userinfo: the sample's placeholder replaced by that access token.
    let access = body["token"]["access_token"].as_str().unwrap().to_string();
    let (status, info) = invoke(&app, Function::OAuthUserinfo, &[(ACCESS, &access)]).await;
    assert_eq!((status, info["sub"].as_str()), (200, Some(user_id)));
    // As shipped, the placeholder is refused like any bad token.
    assert_eq!(invoke(&app, Function::OAuthUserinfo, &[]).await.0, 401);
    // Sign in with the password the reset-account sample set; revoke the
    // session it started, and the sample's unknown token too (200 both).
    let (status, body) = invoke(&app, Function::OAuthToken, &[]).await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let sample_refresh = "rkr_EXAMPLE_REFRESH_TOKEN_REPLACE_ME_0000000";
    for subs in [vec![(sample_refresh, refresh.as_str())], vec![]] {
        let text = event_text("oauth-revoke", &subs);
        let resp = Function::OAuthRevoke
            .handle(&app, lambda_http::request::from_str(&text).unwrap())
            .await;
        assert_eq!(resp.status(), 200);
        assert!(resp.body().is_empty());
    }

    // send-email: the sample's outbox item replaced by a real queued one.
    let outbox_dir = tempfile::tempdir().unwrap();
    let outbox = Outbox {
        store: app.store().clone(),
        mailer: Arc::new(rekey::mail::file::FileMailer::new(
            outbox_dir.path().to_path_buf(),
            "no-reply@acme.example",
        )),
        keys: config.keys.clone(),
        product_name: "Acme".into(),
        webhooks: None,
        directory: None,
    };
    deliver_now(
        &app.reset,
        AddressRequest::ResetLink { entry: None },
        &user.email,
        &Default::default(),
    )
    .await;
    let item = app.store().pending_mail(1).await.unwrap().remove(0);
    let text = event_text(
        "send-email",
        &[
            ("EXAMPLE-OUTBOX-ID", &item.id),
            ("EXAMPLE_SEALED_MESSAGE", &item.sealed),
        ],
    );
    let event: rekey::delivery::stream::StreamEvent = serde_json::from_str(&text).unwrap();
    let result = rekey::delivery::stream::deliver_batch(&outbox, event).await;
    assert!(result.batch_item_failures.is_empty());
    assert_eq!(std::fs::read_dir(outbox_dir.path()).unwrap().count(), 1);
    // As shipped, the sample names no queued item: skipped, as a stream
    // retry of an item already delivered is.
    let event: rekey::delivery::stream::StreamEvent =
        serde_json::from_str(&event_text("send-email", &[])).unwrap();
    let result = rekey::delivery::stream::deliver_batch(&outbox, event).await;
    assert!(result.batch_item_failures.is_empty());
    assert_eq!(
        std::fs::read_dir(outbox_dir.path()).unwrap().count(),
        1,
        "nothing more sent"
    );
}
