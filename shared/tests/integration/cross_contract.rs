//! A password change through any contract voids every outstanding link
//! token, code, signed link and refresh token of that user: each credential
//! is bound to the credential version the change increments.

use rekey::reset::AddressRequest;
use std::sync::Arc;

use crate::support::*;
use rekey::domain::{ApiKey, ClientInfo, Scope, UnixTime, User};
use rekey::reset::{CodeDelivery, PasswordProof};
use rekey::{App, ResetError};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    /// Unleash: link token + reset-password.
    Unleash,
    /// Zitadel: code + SetPassword.
    Zitadel,
    /// Zitadel: the current password + SetPassword.
    ZitadelCurrentPassword,
    /// django-rest-registration: signed link.
    Django,
    /// Account recovery: recovery link + reset-and-log-in.
    Account,
}

struct Outstanding {
    link_token: String,
    code: String,
    signed: (UnixTime, String),
    refresh: String,
    /// From the password grant at POST /oauth/token.
    signed_in: String,
}

/// The password the recovery log-in in `issue_everything` sets.
const LOGGED_IN_PASSWORD: &str = "Logged-In-Passw0rd!";

async fn latest_link(app: &App, config: &rekey::Config) -> String {
    let link = take_links(app.store(), config)
        .await
        .pop()
        .expect("a reset mail");
    url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token" || k == "validation_code")
        .map(|(_, v)| v.into_owned())
        .expect("a token in the link")
}

/// One of each credential, all issued under the user's current version.
async fn issue_everything(app: &App, config: &rekey::Config, user: &User) -> Outstanding {
    let client = ClientInfo::default();
    // A refresh token exists only after a log-in: recover first.
    deliver_now(&app.reset, AddressRequest::Recovery, &user.email, &client).await;
    let code = latest_link(app, config).await;
    let session = app
        .reset
        .reset_and_log_in(&code, LOGGED_IN_PASSWORD, &client, "rekey")
        .await
        .unwrap();
    let user = app.store().user(&user.id).await.unwrap().unwrap();
    let signed_in =
        crate::oauth::password_grant(app, user.email.as_str(), LOGGED_IN_PASSWORD).await;
    assert_eq!(signed_in.status(), 200);
    let signed_in = response_json(&signed_in)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();

    deliver_now(
        &app.reset,
        AddressRequest::ResetLink { entry: None },
        &user.email,
        &client,
    )
    .await;
    let link_token = latest_link(app, config).await;
    let (_, code) = app
        .reset
        .issue_code(
            &user.id,
            CodeDelivery::ReturnCode,
            &api_key(&[Scope::UsersAdmin]).1,
            &client,
        )
        .await
        .unwrap();
    let ts = now();
    let signature = app
        .reset
        .issue_signed_link(&user, ts, &client)
        .await
        .unwrap();
    // Its mail is taken, so the next link read is the next one queued.
    take_links(app.store(), config).await;
    Outstanding {
        link_token,
        code: code.unwrap(),
        signed: (ts, signature),
        refresh: session.refresh_token.expose().to_string(),
        signed_in,
    }
}

async fn admin_key(app: &App) -> ApiKey {
    let raw = add_key(&**app.store(), &[Scope::UsersWrite]).await;
    app.keys
        .authorize(Some(&raw), Scope::UsersWrite)
        .await
        .unwrap()
}

async fn reset_via(app: &App, config: &rekey::Config, via: Via, user: &User, o: &Outstanding) {
    let client = ClientInfo::default();
    match via {
        Via::Unleash => {
            app.reset
                .reset_with_token(&o.link_token, NEW_PASSWORD, &client)
                .await
                .unwrap();
        }
        Via::Zitadel => {
            let key = admin_key(app).await;
            app.reset
                .set_password_with_proof(
                    &user.id,
                    NEW_PASSWORD,
                    PasswordProof::Code(o.code.clone()),
                    &key,
                    &client,
                )
                .await
                .unwrap();
        }
        Via::ZitadelCurrentPassword => {
            let key = admin_key(app).await;
            app.reset
                .set_password_with_proof(
                    &user.id,
                    NEW_PASSWORD,
                    PasswordProof::CurrentPassword(LOGGED_IN_PASSWORD.into()),
                    &key,
                    &client,
                )
                .await
                .unwrap();
        }
        Via::Django => {
            let (ts, sig) = &o.signed;
            app.reset
                .reset_with_signature(user.id.as_str(), *ts, sig, NEW_PASSWORD, &client)
                .await
                .unwrap();
        }
        Via::Account => {
            // Its own recovery link; the outstanding one must still die.
            deliver_now(&app.reset, AddressRequest::Recovery, &user.email, &client).await;
            let fresh = latest_link(app, config).await;
            app.reset
                .reset_and_log_in(&fresh, NEW_PASSWORD, &client, "rekey")
                .await
                .unwrap();
        }
    }
}

async fn assert_all_dead(app: &App, via: Via, user: &User, o: &Outstanding) {
    let client = ClientInfo::default();
    let link = app.reset.inspect_token(&o.link_token).await;
    let expected_link = if via == Via::Unleash {
        "UsedToken"
    } else {
        "InvalidToken"
    };
    assert!(
        matches!(
            (&link, expected_link),
            (Err(ResetError::UsedToken), "UsedToken")
                | (Err(ResetError::InvalidToken), "InvalidToken")
        ),
        "{via:?}: link token {link:?}"
    );
    let key = admin_key(app).await;
    let code = app
        .reset
        .set_password_with_proof(
            &user.id,
            "Yet-Another-9-Horse",
            PasswordProof::Code(o.code.clone()),
            &key,
            &client,
        )
        .await;
    assert!(
        matches!(code, Err(ResetError::CodeExpired)),
        "{via:?}: code {code:?}"
    );
    let (ts, sig) = &o.signed;
    let signed = app
        .reset
        .inspect_signed_link(user.id.as_str(), *ts, sig)
        .await;
    assert!(
        matches!(signed, Err(ResetError::InvalidSignature)),
        "{via:?}: signed link {signed:?}"
    );
    let refresh = app.reset.refresh_token_user(&o.refresh).await;
    assert!(
        matches!(refresh, Err(ResetError::InvalidToken)),
        "{via:?}: refresh token {:?}",
        refresh.map(|u| u.id)
    );
    // Both sessions are refused at the token endpoint too.
    for refresh in [&o.refresh, &o.signed_in] {
        let resp = crate::oauth::refresh_grant(app, refresh).await;
        assert_eq!(
            (resp.status().as_u16(), &response_json(&resp)["error"]),
            (400, &serde_json::json!("invalid_grant")),
            "{via:?}: a refresh after the change"
        );
    }
}

async fn each_contract_voids_the_others(store: Arc<dyn rekey::Store>) {
    let config = config();
    let app = App::new(&config, store).with_signer(crate::support::signer());
    for via in [
        Via::Unleash,
        Via::Zitadel,
        Via::ZitadelCurrentPassword,
        Via::Django,
        Via::Account,
    ] {
        let user = add_user(&**app.store(), &config, &unique_email()).await;
        let outstanding = issue_everything(&app, &config, &user).await;
        // Everything is alive before the change.
        let fresh = app.store().user(&user.id).await.unwrap().unwrap();
        assert!(
            app.reset
                .inspect_token(&outstanding.link_token)
                .await
                .is_ok()
        );
        assert!(
            app.reset
                .inspect_signed_link(
                    fresh.id.as_str(),
                    outstanding.signed.0,
                    &outstanding.signed.1
                )
                .await
                .is_ok()
        );
        assert!(
            app.reset
                .refresh_token_user(&outstanding.refresh)
                .await
                .is_ok()
        );
        assert!(
            app.reset
                .refresh_token_user(&outstanding.signed_in)
                .await
                .is_ok()
        );
        reset_via(&app, &config, via, &fresh, &outstanding).await;
        assert_all_dead(&app, via, &fresh, &outstanding).await;
    }
}

crate::on_both_stores!(
    each_contract_voids_the_others,
    each_contract_voids_the_others
);
