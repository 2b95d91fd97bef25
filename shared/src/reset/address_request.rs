//! The address endpoints' one operation: accept the request, whatever the
//! address, as one sealed item of fixed size; and its delivery, which looks
//! the address up and runs the flow the request named.
//!
//! The request side never reads an account, so its calls, their order and
//! the size of what it writes are the same for a known, unknown, disabled
//! or limited address. Everything that depends on the account happens in
//! delivery (the send-email function from the table's stream, or the local
//! worker), which the caller never waits for.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::SecretDigest;
use crate::domain::{ClientInfo, EmailAddress, IntakeItem, OutboxItem, ResetGrant};
use crate::store::StoreError;

use super::{ResetError, ResetService};

/// The plaintext of every intake item is padded to this many bytes before
/// it is sealed: room for the longest address, a configured entry name, an
/// `Accept-Language` and a source address.
const INTAKE_PLAINTEXT_LEN: usize = 2048;

/// The longest `Accept-Language` and source address carried: longer ones
/// are cut (the mail only needs the first languages and a readable address).
const CLIENT_FIELD_MAX: usize = 128;

/// Which address endpoint a request came through, and so which flow
/// delivers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum AddressRequest {
    /// Payabli's reset link; `entry` only when it names a configured one.
    ResetLink { entry: Option<String> },
    /// Account recovery's link.
    Recovery,
    /// django-rest-registration's signed link.
    SignedLink,
}

/// What delivery needs, sealed in the intake item.
#[derive(Serialize, Deserialize)]
struct IntakePayload {
    request: AddressRequest,
    email: String,
    accept_language: Option<String>,
    source_ip: Option<String>,
    /// The digest of the API key that asked (Payabli), so a rule about the
    /// key (its organisation) can be checked at delivery.
    #[serde(default)]
    key: Option<SecretDigest>,
}

/// What delivering one intake item came to.
#[derive(Debug, PartialEq, Eq)]
pub enum IntakeDelivery {
    Delivered,
    /// Delivered by an earlier attempt: a stream retry or a second worker.
    AlreadyDelivered,
}

/// Additional data of the seal: an intake item opens only as one.
fn intake_aad(id: &str) -> Vec<u8> {
    format!("INTAKE#{id}").into_bytes()
}

fn cut(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(|v| v.chars().take(CLIENT_FIELD_MAX).collect())
}

impl ResetService {
    /// What the three address endpoints do once the caller is checked:
    /// queue the request as one sealed item of fixed size, and nothing
    /// else. The account is looked up at delivery.
    pub async fn accept_address_request(
        &self,
        request: AddressRequest,
        email: &EmailAddress,
        client: &ClientInfo,
        key: Option<&SecretDigest>,
    ) -> Result<(), ResetError> {
        let request = match request {
            AddressRequest::ResetLink { entry } => AddressRequest::ResetLink {
                entry: entry.filter(|e| self.config.links.by_entry.contains_key(e)),
            },
            other => other,
        };
        let payload = IntakePayload {
            request,
            email: email.as_str().to_string(),
            accept_language: cut(&client.accept_language),
            source_ip: cut(&client.source_ip),
            key: key.cloned(),
        };
        let mut plaintext = Zeroizing::new(
            serde_json::to_vec(&payload).map_err(|e| ResetError::internal("intake payload", e))?,
        );
        if plaintext.len() > INTAKE_PLAINTEXT_LEN {
            return Err(ResetError::Internal(Box::new(crate::error::Invariant(
                "intake payload over its size",
            ))));
        }
        // JSON ignores trailing whitespace: the padding reads back as nothing.
        plaintext.resize(INTAKE_PLAINTEXT_LEN, b' ');
        let id = uuid::Uuid::new_v4().to_string();
        let item = IntakeItem {
            sealed: self.config.keys.seal(&plaintext, &intake_aad(&id)),
            id,
            created_at: self.clock.now(),
        };
        self.intake.enqueue_intake(&item).await?;
        self.mail_queued();
        Ok(())
    }

    /// Delivers one address request: the flow it names, which looks the
    /// address up, applies its limits and issues (or not) in one write with
    /// the request's removal. Safe to repeat: a request already delivered
    /// is skipped, and of two deliveries racing only one writes.
    pub async fn deliver_intake(&self, item: &IntakeItem) -> Result<IntakeDelivery, ResetError> {
        if !self.intake.intake_pending(&item.id).await? {
            return Ok(IntakeDelivery::AlreadyDelivered);
        }
        let plaintext = self
            .config
            .keys
            .open(&item.sealed, &intake_aad(&item.id))
            .map_err(|e| ResetError::internal(format!("intake {}", item.id), e))?;
        // serde_json's message could quote the address: keep only the kind.
        let payload: IntakePayload = serde_json::from_slice(&plaintext).map_err(|e| {
            ResetError::internal(
                format!("intake {}", item.id),
                crate::error::Invariant(match e.classify() {
                    serde_json::error::Category::Io => "an Io error",
                    serde_json::error::Category::Syntax => "a Syntax error",
                    serde_json::error::Category::Data => "a Data error",
                    serde_json::error::Category::Eof => "an Eof error",
                }),
            )
        })?;
        let email = EmailAddress::parse(&payload.email).ok_or_else(|| {
            ResetError::internal(
                format!("intake {}", item.id),
                crate::error::Invariant("bad address"),
            )
        })?;
        let client = ClientInfo {
            source_ip: payload.source_ip,
            user_agent: None,
            accept_language: payload.accept_language,
            ..ClientInfo::default()
        };
        let delivered = match payload.request {
            AddressRequest::ResetLink { entry } => {
                let key = match &payload.key {
                    Some(digest) => match self.keys.live_key(digest).await? {
                        Some(key) => Some(key),
                        None => {
                            tracing::info!(intake_id = %item.id, "asked by a key now unknown or revoked; no mail");
                            return self.completed(self.complete_intake(&item.id, None).await?);
                        }
                    },
                    None => None,
                };
                self.request_link_by_key(key.as_ref(), &email, entry.as_deref(), &client, &item.id)
                    .await?
            }
            AddressRequest::Recovery => self.request_recovery(&email, &client, &item.id).await?,
            AddressRequest::SignedLink => self.send_signed_link(&email, &client, &item.id).await?,
        };
        self.completed(delivered)
    }

    fn completed(&self, delivered: bool) -> Result<IntakeDelivery, ResetError> {
        Ok(if delivered {
            IntakeDelivery::Delivered
        } else {
            IntakeDelivery::AlreadyDelivered
        })
    }

    /// Delivers what is pending, oldest first; for the local worker.
    /// Failures stay queued for the next round.
    pub async fn drain_intake(&self, limit: usize) -> Result<usize, StoreError> {
        let mut delivered = 0;
        for item in self.intake.pending_intake(limit).await? {
            match self.deliver_intake(&item).await {
                Ok(IntakeDelivery::Delivered) => delivered += 1,
                Ok(IntakeDelivery::AlreadyDelivered) => {}
                Err(e) => {
                    tracing::warn!(intake_id = %item.id, error = %crate::error::Chain(&e), "intake delivery failed; will retry")
                }
            }
        }
        Ok(delivered)
    }

    /// Ends the delivery of `intake` with what it issued, in one write;
    /// false when another delivery ended it first (nothing was written).
    pub(super) async fn complete_intake(
        &self,
        intake: &str,
        link: Option<(&ResetGrant, &OutboxItem)>,
    ) -> Result<bool, ResetError> {
        match self.intake.complete_intake(intake, link).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(_)) => {
                tracing::info!(intake_id = %intake, "request delivered already; skipped");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use super::*;
    use crate::mail::{MailJob, MailMessage};
    use crate::testing::fixture_with;

    fn client() -> ClientInfo {
        ClientInfo {
            source_ip: Some("192.0.2.7".into()),
            user_agent: Some("kept out of the payload".into()),
            accept_language: Some("de-CH, de;q=0.9".into()),
            ..ClientInfo::default()
        }
    }

    #[tokio::test]
    async fn every_request_is_one_item_of_one_size_and_only_known_addresses_get_mail() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let unknown = EmailAddress::parse("somebody.with.a.much.longer.name@example.org").unwrap();
        for (request, email) in [
            (AddressRequest::ResetLink { entry: None }, &unknown),
            (AddressRequest::Recovery, &unknown),
            (AddressRequest::SignedLink, &unknown),
            (
                AddressRequest::ResetLink {
                    entry: Some("nope".into()),
                },
                &user.email,
            ),
        ] {
            f.service
                .accept_address_request(request, email, &client(), None)
                .await
                .unwrap();
        }
        let items = f.store.pending_intake(10).await.unwrap();
        assert_eq!(items.len(), 4);
        assert!(
            items
                .iter()
                .all(|i| i.sealed.len() == items[0].sealed.len())
        );
        assert!(f.store.pending_mail(10).await.unwrap().is_empty());

        assert_eq!(f.service.drain_intake(10).await.unwrap(), 4);
        assert!(f.store.pending_intake(10).await.unwrap().is_empty());
        let mail = f.store.pending_mail(10).await.unwrap();
        assert_eq!(mail.len(), 1, "only the known address is mailed");
        let job = MailJob::open(&f.config.keys, &mail[0]).unwrap();
        assert_eq!(job.to, "ada@example.com");
        assert_eq!(job.accept_language.as_deref(), Some("de-CH, de;q=0.9"));
        let MailMessage::ResetLink {
            link, source_ip, ..
        } = job.message
        else {
            panic!("expected a reset link");
        };
        assert_eq!(source_ip.as_deref(), Some("192.0.2.7"));
        let raw = link.split("token=").nth(1).unwrap();
        let (_, owner) = f.service.inspect_token(raw).await.unwrap();
        assert_eq!(owner.id, user.id);
    }

    /// A key revoked between the request and its delivery mails nothing,
    /// and the request is done with all the same.
    #[tokio::test]
    async fn a_key_revoked_before_delivery_sends_nothing() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let raw = f.add_key(&[crate::domain::Scope::ResetRequest]).await;
        let digest = crate::crypto::BearerSecret::parse(crate::crypto::API_KEY_PREFIX, &raw)
            .unwrap()
            .digest();
        for _ in 0..2 {
            f.service
                .accept_address_request(
                    AddressRequest::ResetLink { entry: None },
                    &user.email,
                    &client(),
                    Some(&digest),
                )
                .await
                .unwrap();
        }
        let mut items = f.store.pending_intake(10).await.unwrap();
        assert_eq!(
            f.service.deliver_intake(&items.remove(0)).await.unwrap(),
            IntakeDelivery::Delivered,
            "the live key's request is mailed"
        );
        f.store.revoke_api_key(&digest).await.unwrap();
        f.service.deliver_intake(&items.remove(0)).await.unwrap();
        assert!(f.store.pending_intake(10).await.unwrap().is_empty());
        assert_eq!(
            f.store.pending_mail(10).await.unwrap().len(),
            1,
            "nothing for the revoked key's request"
        );
    }

    #[tokio::test]
    async fn a_delivered_request_is_not_delivered_again() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        f.service
            .accept_address_request(AddressRequest::SignedLink, &user.email, &client(), None)
            .await
            .unwrap();
        let item = f.store.pending_intake(1).await.unwrap().remove(0);
        assert_eq!(
            f.service.deliver_intake(&item).await.unwrap(),
            IntakeDelivery::Delivered
        );
        assert_eq!(
            f.service.deliver_intake(&item).await.unwrap(),
            IntakeDelivery::AlreadyDelivered
        );
        assert_eq!(f.store.pending_mail(10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_padding_reads_back_and_an_item_opens_only_as_itself() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let long = ClientInfo {
            accept_language: Some("x".repeat(5000)),
            source_ip: Some("2001:db8::1".into()),
            ..ClientInfo::default()
        };
        f.service
            .accept_address_request(AddressRequest::Recovery, &user.email, &long, None)
            .await
            .unwrap();
        let mut item = f.store.pending_intake(1).await.unwrap().remove(0);
        let plaintext = f
            .config
            .keys
            .open(&item.sealed, &intake_aad(&item.id))
            .unwrap();
        assert_eq!(plaintext.len(), INTAKE_PLAINTEXT_LEN);
        // Sealed to its own id: under another, or as mail, it does not open.
        assert!(
            f.config
                .keys
                .open(&item.sealed, &intake_aad("another"))
                .is_err()
        );
        assert!(
            f.config
                .keys
                .open(&item.sealed, item.id.as_bytes())
                .is_err()
        );
        item.sealed = f.config.keys.seal(b"{}", b"OUTBOX#x");
        assert!(matches!(
            f.service.deliver_intake(&item).await,
            Err(ResetError::Internal(_))
        ));
    }
}
