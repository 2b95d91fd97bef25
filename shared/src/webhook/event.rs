//! The events, in the Standard Webhooks payload shape:
//! `{"type": ..., "timestamp": ..., "data": {...}}`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::domain::{UnixTime, User};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    PasswordChanged,
    AccountDisabled,
    /// What `rekeyctl webhook test` sends; no filter needs to name it.
    Test,
}

impl EventType {
    pub const ALL: [EventType; 3] = [
        EventType::PasswordChanged,
        EventType::AccountDisabled,
        EventType::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PasswordChanged => "password.changed",
            EventType::AccountDisabled => "account.disabled",
            EventType::Test => "webhook.test",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// An event before it is addressed to an endpoint. The password hash is
/// kept apart: only endpoints that opted in get it.
#[derive(Clone)]
pub struct WebhookEvent {
    pub event_type: EventType,
    pub at: UnixTime,
    data: Map<String, Value>,
    password_hash: Option<String>,
}

/// Which contract a password change came through, from the flow's audit
/// action: a reset link is redeemed at Unleash's route whichever contract
/// mailed it.
pub fn contract_of(action: &str) -> &'static str {
    match action {
        "password_reset_link" => "unleash",
        "account_recovery" => "account_recovery",
        "password_reset_code" | "password_change" => "zitadel",
        "password_reset_signed_link" => "django",
        "password_set_by_admin" => "admin",
        _ => "other",
    }
}

fn rfc3339(t: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t.secs())
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl WebhookEvent {
    /// `password.changed`. Every change bumps the user's credential
    /// version, which voids every refresh token, link and code of the
    /// user: for rekey's own accounts the sessions are always revoked.
    pub fn password_changed(
        user: &User,
        changed_at: UnixTime,
        action: &str,
        sessions_revoked: bool,
        new_hash: Option<&str>,
    ) -> Self {
        Self {
            event_type: EventType::PasswordChanged,
            at: changed_at,
            data: object(json!({
                "user_id": user.id.as_str(),
                "email": user.email.as_str(),
                "changed_at": rfc3339(changed_at),
                "contract": contract_of(action),
                "action": action,
                "sessions_revoked": sessions_revoked,
            })),
            password_hash: new_hash.map(str::to_string),
        }
    }

    /// `account.disabled`.
    pub fn account_disabled(user: &User, disabled_at: UnixTime) -> Self {
        Self {
            event_type: EventType::AccountDisabled,
            at: disabled_at,
            data: object(json!({
                "user_id": user.id.as_str(),
                "email": user.email.as_str(),
                "disabled_at": rfc3339(disabled_at),
            })),
            password_hash: None,
        }
    }

    /// `webhook.test`: names no user.
    pub fn test(at: UnixTime) -> Self {
        Self {
            event_type: EventType::Test,
            at,
            data: object(json!({"message": "a test event from rekeyctl webhook test"})),
            password_hash: None,
        }
    }

    /// The JSON body for one endpoint; with `password_hash` only if the
    /// endpoint opted in. A struct of strings and a JSON map always
    /// serialises.
    #[expect(
        clippy::expect_used,
        reason = "a struct of strings and a JSON map always serialises"
    )]
    pub fn body_for(&self, include_password_hash: bool) -> String {
        #[derive(Serialize)]
        struct Payload<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            timestamp: String,
            data: Map<String, Value>,
        }
        let mut data = self.data.clone();
        if let (true, Some(hash)) = (include_password_hash, &self.password_hash) {
            data.insert("password_hash".into(), Value::String(hash.clone()));
        }
        serde_json::to_string(&Payload {
            kind: self.event_type.as_str(),
            timestamp: rfc3339(self.at),
            data,
        })
        .expect("serialisable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, UserId};

    #[test]
    fn the_payload_has_the_standard_shape_and_the_hash_only_when_asked() {
        let user = User::new(
            UserId::parse("u1").unwrap(),
            EmailAddress::parse("Ada@Example.com").unwrap(),
            UnixTime::EPOCH,
        );
        let event = WebhookEvent::password_changed(
            &user,
            UnixTime::from_secs(1_700_000_000),
            "password_reset_code",
            true,
            Some("$argon2id$h"),
        );
        let plain: Value = serde_json::from_str(&event.body_for(false)).unwrap();
        assert_eq!(plain["type"], "password.changed");
        assert_eq!(plain["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(plain["data"]["user_id"], "u1");
        assert_eq!(plain["data"]["email"], "ada@example.com");
        assert_eq!(plain["data"]["contract"], "zitadel");
        assert_eq!(plain["data"]["sessions_revoked"], true);
        assert!(plain["data"].get("password_hash").is_none());
        let with: Value = serde_json::from_str(&event.body_for(true)).unwrap();
        assert_eq!(with["data"]["password_hash"], "$argon2id$h");
        let disabled: Value = serde_json::from_str(
            &WebhookEvent::account_disabled(&user, UnixTime::EPOCH).body_for(true),
        )
        .unwrap();
        assert_eq!(disabled["type"], "account.disabled");
        assert!(disabled["data"].get("password_hash").is_none());
    }
}
