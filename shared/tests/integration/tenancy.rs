//! Keys bound to an organisation: a key acts only on the users of its
//! organisation (an operator's key on every one), and a link points only
//! where the user's organisation allows. Payabli answers a cross-tenant
//! request as it answers an unknown address; Zitadel as an unknown user.

use std::sync::Arc;

use crate::support::*;
use rekey::domain::{EmailAddress, OrgBinding, Scope, User, UserId};
use rekey::routes::Function;
use rekey::store::Store;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");

fn tenant_config() -> rekey::Config {
    config_with(&[
        (
            "REKEY_RESET_URLS_BY_ENTRY",
            r#"{"acme-shop": {"org": "acme", "url": "https://acme.example/reset?token={token}"},
                "beta-shop": {"org": "beta", "url": "https://beta.example/reset?token={token}"}}"#,
        ),
        (
            "REKEY_ALLOWED_LINK_ORIGINS",
            "https://app.example.com,acme=https://acme.example,beta=https://beta.example",
        ),
    ])
}

struct Tenants {
    app: TestApp,
    acme_user: User,
    beta_user: User,
    acme_key: String,
    operator_key: String,
}

async fn tenants(store: Arc<dyn Store>) -> Tenants {
    let app = TestApp::on_store(store.clone(), tenant_config());
    let mut users = Vec::new();
    for org in ["acme", "beta"] {
        let mut user = User::new(
            UserId::generate(),
            EmailAddress::parse(&unique_email()).unwrap(),
            now(),
        );
        user.org = Some(org.into());
        store.insert_user(&user).await.unwrap();
        users.push(user);
    }
    // users:admin too: the Zitadel cases ask returnCode.
    let scopes = [Scope::ResetRequest, Scope::UsersWrite, Scope::UsersAdmin];
    let acme_key = add_key_for(&*store, &scopes, OrgBinding::Org("acme".into())).await;
    let operator_key = add_key_for(&*store, &scopes, OrgBinding::AllOrgs).await;
    let beta_user = users.pop().unwrap();
    let acme_user = users.pop().unwrap();
    Tenants {
        app,
        acme_user,
        beta_user,
        acme_key,
        operator_key,
    }
}

impl Tenants {
    async fn payabli(&self, key: &str, body: Value) -> (u16, Value) {
        let resp = self
            .app
            .post(
                Function::RequestReset,
                &[JSON, ("requestToken", key)],
                &body,
            )
            .await;
        (resp.status().as_u16(), response_json(&resp))
    }

    async fn zitadel(&self, function: Function, key: &str, body: Value) -> (u16, Value) {
        let auth = format!("Bearer {key}");
        let resp = self
            .app
            .post(function, &[JSON, ("authorization", &auth)], &body)
            .await;
        (resp.status().as_u16(), response_json(&resp))
    }
}

async fn payabli_reaches_only_the_keys_organisation(store: Arc<dyn Store>) {
    let t = tenants(store).await;
    let unknown = t
        .payabli(&t.acme_key, json!({"email": unique_email()}))
        .await;
    assert_eq!(unknown.0, 200);
    assert!(t.app.take_mail().await.is_empty());

    // A user of another organisation: the unknown address's answer, no mail.
    let other = t
        .payabli(&t.acme_key, json!({"email": t.beta_user.email.as_str()}))
        .await;
    assert_eq!(other, unknown);
    assert!(t.app.take_mail().await.is_empty(), "no mail across tenants");

    // The key's own user, through its own entry: mailed there.
    let own = t
        .payabli(
            &t.acme_key,
            json!({"email": t.acme_user.email.as_str(), "entry": "acme-shop", "entryType": 0}),
        )
        .await;
    assert_eq!(own, unknown);
    let links = t.app.take_links().await;
    assert_eq!(links.len(), 1);
    assert!(links[0].starts_with("https://acme.example/reset?token="));

    // An entry of another organisation: the same answer, no mail.
    let foreign_entry = t
        .payabli(
            &t.acme_key,
            json!({"email": t.acme_user.email.as_str(), "entry": "beta-shop", "entryType": 0}),
        )
        .await;
    assert_eq!(foreign_entry, unknown);
    assert!(
        t.app.take_mail().await.is_empty(),
        "no mail to beta's front end"
    );

    // An operator's key reaches every organisation.
    for user in [&t.acme_user, &t.beta_user] {
        let (status, _) = t
            .payabli(&t.operator_key, json!({"email": user.email.as_str()}))
            .await;
        assert_eq!(status, 200);
        let mail = t.app.take_mail().await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].user_id, user.id);
    }
}

crate::on_both_stores!(
    payabli_cross_org,
    payabli_reaches_only_the_keys_organisation
);

async fn zitadel_reaches_only_the_keys_organisation(store: Arc<dyn Store>) {
    let t = tenants(store).await;
    let reset = |user: &str| json!({"userId": user, "returnCode": {}});
    let unknown = t
        .zitadel(
            Function::RequestUserReset,
            &t.acme_key,
            reset("no-such-user"),
        )
        .await;
    assert_eq!(unknown.0, 404, "{}", unknown.1);

    // Another organisation's user is NOT_FOUND, exactly as an unknown one.
    let other = t
        .zitadel(
            Function::RequestUserReset,
            &t.acme_key,
            reset(t.beta_user.id.as_str()),
        )
        .await;
    assert_eq!(other, unknown);
    let set = |user: &str| json!({"userId": user, "newPassword": {"password": NEW_PASSWORD}, "currentPassword": OLD_PASSWORD});
    let unknown_set = t
        .zitadel(Function::SetPassword, &t.acme_key, set("no-such-user"))
        .await;
    let other_set = t
        .zitadel(
            Function::SetPassword,
            &t.acme_key,
            set(t.beta_user.id.as_str()),
        )
        .await;
    assert_eq!(unknown_set.0, 404);
    assert_eq!(other_set, unknown_set);

    // A urlTemplate of another organisation's origin is refused as a
    // disallowed origin is; the user's own origin is mailed.
    let send = |user: &str, origin: &str| {
        json!({"userId": user, "sendLink": {"notificationType": "NOTIFICATION_TYPE_Email",
            "urlTemplate": format!("{origin}/code?userID={{{{.UserID}}}}&code={{{{.Code}}}}&orgID={{{{.OrgID}}}}")}})
    };
    let acme = t.acme_user.id.as_str();
    let disallowed = t
        .zitadel(
            Function::RequestUserReset,
            &t.acme_key,
            send(acme, "https://evil.example"),
        )
        .await;
    assert_eq!(disallowed.0, 400, "{}", disallowed.1);
    let foreign = t
        .zitadel(
            Function::RequestUserReset,
            &t.acme_key,
            send(acme, "https://beta.example"),
        )
        .await;
    assert_eq!(foreign, disallowed);
    assert!(t.app.take_mail().await.is_empty());
    let own = t
        .zitadel(
            Function::RequestUserReset,
            &t.acme_key,
            send(acme, "https://acme.example"),
        )
        .await;
    assert_eq!(own.0, 200, "{}", own.1);
    assert_eq!(t.app.take_mail().await.len(), 1);

    // An operator's key reaches every organisation.
    for user in [&t.acme_user, &t.beta_user] {
        let (status, body) = t
            .zitadel(
                Function::RequestUserReset,
                &t.operator_key,
                reset(user.id.as_str()),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

crate::on_both_stores!(
    zitadel_cross_org,
    zitadel_reaches_only_the_keys_organisation
);

/// Posts a password with a token to `function` (`ResetPassword` or
/// `ResetAccount`), from `origin` when given.
async fn redeem(
    t: &Tenants,
    function: Function,
    token: &str,
    origin: Option<&str>,
) -> (u16, Value) {
    let body = match function {
        Function::ResetPassword => json!({"token": token, "password": NEW_PASSWORD}),
        _ => json!({"validation_code": token, "password": NEW_PASSWORD}),
    };
    let mut headers = vec![JSON];
    if let Some(origin) = origin {
        headers.push(("origin", origin));
    }
    let resp = t.app.post(function, &headers, &body).await;
    let mut json = response_json(&resp);
    // Unleash numbers each error; the rest of the answer is compared.
    if let Some(error) = json.as_object_mut() {
        error.remove("id");
    }
    (resp.status().as_u16(), json)
}

async fn a_grant_is_redeemed_for_its_purpose_from_its_origin(store: Arc<dyn Store>) {
    let t = tenants(store).await;
    let token_of = |link: &str, name: &str| link_param(link, name);
    // Refused tokens are answered as an unknown one is at each route.
    let unknown_token = "rkt_unknown-but-well-formed-0000000000";
    let unknown_at_reset = redeem(&t, Function::ResetPassword, unknown_token, None).await;
    let unknown_at_account = redeem(&t, Function::ResetAccount, unknown_token, None).await;
    assert!(unknown_at_reset.0 >= 400 && unknown_at_account.0 >= 400);

    // A recovery token: refused at the plain reset route, without a trace.
    let email = t.acme_user.email.as_str();
    let resp = t
        .app
        .post(Function::RecoverAccount, &[JSON], &json!({"email": email}))
        .await;
    assert_eq!(resp.status(), 200);
    let recovery = token_of(&t.app.take_link().await, "validation_code");
    assert_eq!(
        redeem(&t, Function::ResetPassword, &recovery, None).await,
        unknown_at_reset,
        "a recovery token does not reset at Unleash's route"
    );

    // A reset-link token: refused at the log-in route.
    t.payabli(
        &t.acme_key,
        json!({"email": email, "entry": "acme-shop", "entryType": 0}),
    )
    .await;
    let link_token = token_of(&t.app.take_link().await, "token");
    assert_eq!(
        redeem(&t, Function::ResetAccount, &link_token, None).await,
        unknown_at_account,
        "a reset link does not log in"
    );

    // From another origin than the link's: refused, the token kept.
    for origin in ["https://beta.example", "https://evil.example", "null"] {
        assert_eq!(
            redeem(&t, Function::ResetPassword, &link_token, Some(origin)).await,
            unknown_at_reset,
            "{origin}"
        );
    }
    let (status, body) = redeem(
        &t,
        Function::ResetPassword,
        &link_token,
        Some("https://acme.example"),
    )
    .await;
    assert_eq!(status, 200, "from the link's own origin: {body}");

    // The recovery token was left usable by its refusals; the service's
    // own origin (the hosted page's) may redeem it at its route. The first
    // change voided it, so ask again.
    let resp = t
        .app
        .post(Function::RecoverAccount, &[JSON], &json!({"email": email}))
        .await;
    assert_eq!(resp.status(), 200);
    let recovery = token_of(&t.app.take_link().await, "validation_code");
    let (status, body) = redeem(
        &t,
        Function::ResetAccount,
        &recovery,
        Some("https://api.example.com"),
    )
    .await;
    assert_eq!(status, 200, "from the service's own origin: {body}");
}

crate::on_both_stores!(
    grant_purpose_and_origin,
    a_grant_is_redeemed_for_its_purpose_from_its_origin
);
