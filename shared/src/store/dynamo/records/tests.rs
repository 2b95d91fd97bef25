//! The item layout deployed tables hold, pinned attribute by attribute.

use super::*;
use crate::crypto::SecretDigest;
use crate::domain::{
    ApiKey, CredentialVersion, EmailAddress, GrantPurpose, OrgBinding, ResetGrant, Scope, UnixTime,
    User, UserId,
};
use serde_dynamo::AttributeValue as A;

fn s(v: &str) -> A {
    A::S(v.to_string())
}
fn n(v: i64) -> A {
    A::N(v.to_string())
}
fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(secs)
}

/// The attributes deployed tables hold, to the letter.
#[test]
fn a_user_is_the_item_it_always_was() {
    let mut u = User::new(
        UserId::parse("ada-1").unwrap(),
        EmailAddress::parse("ada@example.com").unwrap(),
        t(1_700_000_000),
    );
    u.name = Some("Ada".into());
    u.password_history = vec!["h1".into()];
    let item: serde_dynamo::Item = UserRecord::from(&u).to_item().unwrap();
    let expected: serde_dynamo::Item = std::collections::HashMap::from([
        ("pk".to_string(), s("USER#ada-1")),
        ("sk".to_string(), s("USER")),
        ("kind".to_string(), s("user")),
        ("id".to_string(), s("ada-1")),
        ("email".to_string(), s("ada@example.com")),
        ("name".to_string(), s("Ada")),
        (
            "credential_version".to_string(),
            A::N(u.credential_version.0.to_string()),
        ),
        ("password_history".to_string(), A::L(vec![s("h1")])),
        ("disabled".to_string(), A::Bool(false)),
        ("created_at".to_string(), n(u.created_at.secs())),
        ("sequence".to_string(), n(0)),
        ("changed_at".to_string(), n(u.changed_at.secs())),
    ])
    .into();
    assert_eq!(item, expected);
    let back = User::try_from(UserRecord::from_item(item).unwrap()).unwrap();
    assert_eq!(back, u);
}

#[test]
fn a_grant_keeps_its_layout_and_leaves_used_at_absent() {
    let g = ResetGrant {
        digest: SecretDigest::from_hex("ab".repeat(32)),
        user_id: UserId::parse("ada-1").unwrap(),
        credential_version: CredentialVersion(3),
        issued_at: t(100),
        expires_at: t(200),
        used_at: None,
        purpose: None,
        origin: None,
    };
    let item: serde_dynamo::Item = GrantRecord::from(&g).to_item().unwrap();
    let expected: serde_dynamo::Item = std::collections::HashMap::from([
        ("pk".to_string(), s(&format!("GRANT#{}", "ab".repeat(32)))),
        ("sk".to_string(), s("GRANT")),
        ("kind".to_string(), s("grant")),
        ("user_id".to_string(), s("ada-1")),
        ("credential_version".to_string(), n(3)),
        ("issued_at".to_string(), n(100)),
        ("expires_at".to_string(), n(200)),
        ("ttl".to_string(), n(200 + GRANT_RETENTION.as_secs() as i64)),
    ])
    .into();
    assert_eq!(item, expected);
    assert_eq!(
        ResetGrant::try_from(GrantRecord::from_item(item).unwrap()).unwrap(),
        g
    );
    // A purpose and an origin are two more strings; absent above, as on
    // grants written before them.
    let g = ResetGrant {
        purpose: Some(GrantPurpose::AccountRecovery),
        origin: Some("https://app.example.com".into()),
        ..g
    };
    let item: serde_dynamo::Item = GrantRecord::from(&g).to_item().unwrap();
    assert_eq!(item["purpose"], s("account_recovery"));
    assert_eq!(item["origin"], s("https://app.example.com"));
    assert_eq!(
        ResetGrant::try_from(GrantRecord::from_item(item).unwrap()).unwrap(),
        g
    );
}

#[test]
fn an_api_key_keeps_its_scopes_as_a_list_of_strings() {
    let k = ApiKey {
        digest: SecretDigest::from_hex("cd".repeat(32)),
        name: "ci".into(),
        scopes: vec![Scope::ResetRequest, Scope::UsersAdmin],
        created_at: t(5),
        revoked: false,
        org: OrgBinding::Org("acme".into()),
    };
    let item: serde_dynamo::Item = ApiKeyRecord::from(&k).to_item().unwrap();
    assert_eq!(item["org"], s("acme"));
    assert_eq!(
        item["scopes"],
        A::L(vec![s("reset:request"), s("users:admin")])
    );
    assert_eq!(item["revoked"], A::Bool(false));
    assert_eq!(item["kind"], s("key"));
    assert_eq!(
        ApiKey::try_from(ApiKeyRecord::from_item(item.clone()).unwrap()).unwrap(),
        k
    );
    // A key stored before keys had an organisation reads as the default
    // organisation's; an operator key is stored as `*`.
    let mut legacy = item;
    legacy.remove("org");
    let read = ApiKey::try_from(ApiKeyRecord::from_item(legacy).unwrap()).unwrap();
    assert_eq!(read.org, OrgBinding::DefaultOrg);
    let operator = ApiKey {
        org: OrgBinding::AllOrgs,
        ..k
    };
    let item: serde_dynamo::Item = ApiKeyRecord::from(&operator).to_item().unwrap();
    assert_eq!(item["org"], s("*"));
    assert_eq!(
        ApiKey::try_from(ApiKeyRecord::from_item(item).unwrap()).unwrap(),
        operator
    );
}

/// The attribute names and types of `item`, sorted.
fn layout(item: serde_dynamo::Item) -> Vec<(String, &'static str)> {
    let mut attrs: Vec<_> = item
        .iter()
        .map(|(k, v)| {
            let t = match v {
                A::S(_) => "S",
                A::N(_) => "N",
                A::Bool(_) => "BOOL",
                A::L(_) => "L",
                _ => "other",
            };
            (k.clone(), t)
        })
        .collect();
    attrs.sort();
    attrs
}

/// The key and kind every item has, and `pairs`, sorted.
fn names(pairs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    let keys = [("pk", "S"), ("sk", "S"), ("kind", "S")];
    let mut v: Vec<_> = keys
        .iter()
        .chain(pairs)
        .map(|(k, t)| (k.to_string(), *t))
        .collect();
    v.sort();
    v
}

/// An outbox or intake item's attributes besides the key and kind.
const SEALED_ITEM_ATTRIBUTES: &[(&str, &str)] = &[
    ("id", "S"),
    ("sealed", "S"),
    ("created_at", "N"),
    ("ttl", "N"),
];

#[test]
fn the_other_items_keep_their_attributes() {
    use crate::domain::{AuditEvent, OutboxItem, RefreshToken, ResetCode};
    let user = UserId::parse("ada-1").unwrap();
    let digest = SecretDigest::from_hex("ef".repeat(32));
    let mail = OutboxItem {
        id: "m-1".into(),
        sealed: "sealed".into(),
        created_at: t(10),
    };
    let item: serde_dynamo::Item = OutboxRecord::from(&mail).to_item().unwrap();
    assert_eq!(item["pk"], s("OUTBOX#m-1"));
    assert_eq!(item["ttl"], n(10 + OUTBOX_RETENTION.as_secs() as i64));
    assert_eq!(layout(item.clone()), names(SEALED_ITEM_ATTRIBUTES));
    assert_eq!(
        OutboxItem::from(OutboxRecord::from_item(item).unwrap()),
        mail
    );

    let event = AuditEvent {
        id: "e-1".into(),
        user_id: user.clone(),
        action: "reset".into(),
        outcome: "ok".into(),
        at: t(7),
        source_ip: None,
        user_agent: Some("ua".into()),
        expires_at: t(99),
    };
    let item: serde_dynamo::Item = AuditRecord::from(&event).to_item().unwrap();
    assert_eq!(item["sk"], s("000000000007#e-1"));
    assert_eq!(
        layout(item.clone()),
        names(&[
            ("id", "S"),
            ("user_id", "S"),
            ("action", "S"),
            ("outcome", "S"),
            ("at", "N"),
            ("user_agent", "S"),
            ("expires_at", "N"),
            ("ttl", "N"),
        ]),
        "an absent source address stays absent"
    );
    assert_eq!(
        AuditEvent::try_from(AuditRecord::from_item(item).unwrap()).unwrap(),
        event
    );

    let code = ResetCode {
        user_id: user.clone(),
        digest: "c0de".into(),
        credential_version: CredentialVersion(1),
        issued_at: t(5),
        expires_at: t(50),
        attempts: 2,
    };
    let item: serde_dynamo::Item = CodeRecord::from(&code).to_item().unwrap();
    assert_eq!((&item["pk"], &item["sk"]), (&s("USER#ada-1"), &s("CODE")));
    assert_eq!(
        layout(item.clone()),
        names(&[
            ("digest", "S"),
            ("credential_version", "N"),
            ("issued_at", "N"),
            ("expires_at", "N"),
            ("attempts", "N"),
            ("ttl", "N"),
        ])
    );
    assert_eq!(
        ResetCode::try_from(CodeRecord::from_item(item).unwrap()).unwrap(),
        code
    );

    let token = RefreshToken {
        digest: digest.clone(),
        user_id: user.clone(),
        credential_version: CredentialVersion(1),
        client_id: "app".into(),
        scope: "openid".into(),
        issued_at: t(5),
        expires_at: t(50),
        family: "fam-1".into(),
        used_at: None,
    };
    let item: serde_dynamo::Item = RefreshRecord::from(&token).to_item().unwrap();
    assert_eq!(item["ttl"], n(50));
    assert_eq!(
        layout(item.clone()),
        names(&[
            ("user_id", "S"),
            ("credential_version", "N"),
            ("client_id", "S"),
            ("scope", "S"),
            ("issued_at", "N"),
            ("expires_at", "N"),
            ("ttl", "N"),
            ("family", "S"),
        ])
    );
    assert_eq!(
        RefreshToken::try_from(RefreshRecord::from_item(item.clone()).unwrap()).unwrap(),
        token
    );
    // A token from before families is a family of its own, named by its
    // digest; a rotated one keeps when.
    let mut old = item.clone();
    old.remove("family");
    old.insert("used_at".into(), n(7));
    let read = RefreshToken::try_from(RefreshRecord::from_item(old).unwrap()).unwrap();
    assert_eq!(read.family, digest.as_str());
    assert_eq!(read.used_at, Some(t(7)));

    let _ = (digest, user);
    let request = crate::domain::IntakeItem {
        id: "i-1".into(),
        sealed: "sealed".into(),
        created_at: t(10),
    };
    let item: serde_dynamo::Item = IntakeRecord::from(&request).to_item().unwrap();
    assert_eq!(item["pk"], s("INTAKE#i-1"));
    assert_eq!(item["kind"], s("intake"));
    assert_eq!(item["ttl"], n(10 + INTAKE_RETENTION.as_secs() as i64));
    assert_eq!(layout(item.clone()), names(SEALED_ITEM_ATTRIBUTES));
    assert_eq!(
        crate::domain::IntakeItem::from(IntakeRecord::from_item(item).unwrap()),
        request
    );
    let owner = User::new(
        UserId::parse("ada-1").unwrap(),
        EmailAddress::parse("ada@example.com").unwrap(),
        t(1_700_000_000),
    );
    let item: serde_dynamo::Item = EmailRecord::from(&owner).to_item().unwrap();
    assert_eq!(layout(item.clone()), names(&[("user_id", "S")]));
    assert_eq!(item["pk"], s("EMAIL#ada@example.com"));
    assert_eq!(
        UserId::try_from(EmailRecord::from_item(item).unwrap()).unwrap(),
        owner.id
    );
}
