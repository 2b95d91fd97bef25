//! Signed reset links (django-rest-registration): the signature binds the
//! user, the time, the credential version and a nonce; the nonce's grant
//! (purpose: signed link) is consumed with the password change, so a used
//! link is used even when the credential version did not move.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::{SecretDigest, random_bytes};
use crate::domain::{
    ClientInfo, EmailAddress, GrantPurpose, Redemption, ResetGrant, UnixTime, User, UserId,
};
use crate::password::Profile;

use super::password_change::{ChangeInput, SetPasswordError};
use super::{ResetError, ResetService};

/// Domain tag of signed reset links: a signature made for anything else
/// (links of v1, which had no nonce, included) never verifies here.
const SIGNED_LINK_TAG: &[u8] = b"rekey/reset-password-link/v2";

/// The key purpose signed links are signed under.
const SIGNED_LINK_PURPOSE: &str = "signed-reset-link";

/// Random bytes of a link's nonce; the `signature` value is
/// base64url(nonce || tag).
const NONCE_BYTES: usize = 16;

fn signed_parts(user: &User, timestamp: UnixTime, nonce: &[u8]) -> [Vec<u8>; 5] {
    [
        SIGNED_LINK_TAG.to_vec(),
        user.id.as_str().as_bytes().to_vec(),
        timestamp.secs().to_be_bytes().to_vec(),
        user.credential_version.0.to_be_bytes().to_vec(),
        nonce.to_vec(),
    ]
}

/// What the store keys a nonce's grant on.
fn nonce_digest(nonce: &[u8]) -> SecretDigest {
    SecretDigest::of(&URL_SAFE_NO_PAD.encode(nonce))
}

impl ResetService {
    /// A `signature` value for a link to `user` at `timestamp` with a fresh
    /// nonce, and the grant that nonce must have to be redeemed. Nothing is
    /// stored: until the grant is, the link is refused.
    pub fn link_signature(&self, user: &User, timestamp: UnixTime) -> (String, ResetGrant) {
        let nonce = random_bytes::<NONCE_BYTES>();
        let parts = signed_parts(user, timestamp, nonce.as_ref());
        let tag = self
            .config
            .keys
            .sign(SIGNED_LINK_PURPOSE, &parts.each_ref().map(|p| p.as_slice()));
        let mut value = nonce.to_vec();
        value.extend_from_slice(&tag);
        let grant = ResetGrant {
            digest: nonce_digest(nonce.as_ref()),
            user_id: user.id.clone(),
            credential_version: user.credential_version,
            issued_at: timestamp,
            // Saturating: tests sign at the ends of i64 (see inspection).
            expires_at: timestamp.plus(self.config.signed_links.ttl),
            used_at: None,
            purpose: Some(GrantPurpose::SignedLink),
            origin: Some(self.config.links.signed.origin()),
        };
        (URL_SAFE_NO_PAD.encode(value), grant)
    }

    /// django-rest-registration: delivers the address request `intake` by
    /// mailing a signed link when the address has an active account, in one
    /// write with the request's removal. False when the request was
    /// delivered already.
    pub(super) async fn send_signed_link(
        &self,
        email: &EmailAddress,
        client: &ClientInfo,
        intake: &str,
    ) -> Result<bool, ResetError> {
        let Some(user) = self.active_account(email, "signed link").await? else {
            return self.complete_intake(intake, None).await;
        };
        let (_, delivered) = self
            .sign_and_queue(&user, self.clock.now(), client, Some(intake))
            .await?;
        Ok(delivered)
    }

    /// Signs a link for `user` at `timestamp`, stores its nonce's grant and
    /// queues its mail in one transaction. Returns the `signature` value
    /// (for tests; in service the mail carries it).
    pub async fn issue_signed_link(
        &self,
        user: &User,
        timestamp: UnixTime,
        client: &ClientInfo,
    ) -> Result<String, ResetError> {
        let (signature, _) = self.sign_and_queue(user, timestamp, client, None).await?;
        Ok(signature)
    }

    /// `issue_signed_link`, the transaction also removing `intake` when it
    /// delivers one; false when `intake` was delivered already.
    async fn sign_and_queue(
        &self,
        user: &User,
        timestamp: UnixTime,
        client: &ClientInfo,
        intake: Option<&str>,
    ) -> Result<(String, bool), ResetError> {
        let (signature, grant) = self.link_signature(user, timestamp);
        let link = self.config.links.signed.render(&[
            ("user_id", user.id.as_str()),
            ("timestamp", &timestamp.to_string()),
            ("signature", &signature),
        ]);
        let mail = self.reset_mail(user, link, None, grant.expires_at, client);
        match intake {
            Some(intake) => {
                if !self.complete_intake(intake, Some((&grant, &mail))).await? {
                    return Ok((signature, false));
                }
            }
            None => self.credentials.insert_grant(&grant, &mail).await?,
        }
        tracing::info!(user_id = %user.id, outbox_id = %mail.id, "signed reset link issued");
        self.mail_queued();
        Ok((signature, true))
    }

    /// Checks a signed link: the signature first (so nothing is said about a
    /// forged link's age), then its age and clock skew, then its nonce's
    /// grant: unknown, used or of another user, the link is invalid.
    pub async fn inspect_signed_link(
        &self,
        user_id: &str,
        timestamp: UnixTime,
        signature: &str,
    ) -> Result<(User, SecretDigest), ResetError> {
        let user = match UserId::parse(user_id) {
            Some(id) => self.find_user(&id).await?,
            None => None,
        }
        .filter(|u| !u.disabled)
        .ok_or(ResetError::InvalidSignature)?;
        let value = URL_SAFE_NO_PAD
            .decode(signature.trim())
            .map_err(|_| ResetError::InvalidSignature)?;
        if value.len() <= NONCE_BYTES {
            return Err(ResetError::InvalidSignature);
        }
        let (nonce, tag) = value.split_at(NONCE_BYTES);
        let parts = signed_parts(&user, timestamp, nonce);
        if !self.config.keys.verify(
            SIGNED_LINK_PURPOSE,
            &parts.each_ref().map(|p| p.as_slice()),
            tag,
        ) {
            return Err(ResetError::InvalidSignature);
        }
        let policy = &self.config.signed_links;
        // Saturating: a signed timestamp at either end of i64 must not
        // overflow (only the server signs, but the check must hold anyway).
        let age = self.clock.now().seconds_since(timestamp);
        if age > policy.ttl.as_secs() as i64 {
            return Err(ResetError::SignatureExpired);
        }
        if age.saturating_neg() > policy.max_skew.as_secs() as i64 {
            return Err(ResetError::InvalidSignature);
        }
        let digest = nonce_digest(nonce);
        match self.credentials.grant(&digest).await? {
            Some(g)
                if g.used_at.is_none()
                    && g.serves(GrantPurpose::SignedLink)
                    && g.user_id == user.id =>
            {
                Ok((user, digest))
            }
            _ => Err(ResetError::InvalidSignature),
        }
    }

    /// Resets with a signed link. Single use: the change consumes the
    /// nonce's grant in its transaction, and bumps the credential version
    /// the signature is bound to.
    pub async fn reset_with_signature(
        &self,
        user_id: &str,
        timestamp: UnixTime,
        signature: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        let (user, nonce) = self
            .inspect_signed_link(user_id, timestamp, signature)
            .await?;
        let password = self
            .check_password(raw_password, Some(&user), Profile::Nist)
            .await?;
        // The signature is verified: now the history may speak.
        self.refuse_reused(&user, &password, client).await?;
        match self
            .set_password(
                &user,
                password,
                ChangeInput {
                    redemption: Redemption::Grant(nonce),
                    session: None,
                    action: "password_reset_signed_link",
                    client,
                },
            )
            .await
        {
            Ok(_) => Ok(user),
            Err(SetPasswordError::LostRace) => Err(ResetError::InvalidSignature),
            Err(SetPasswordError::Reset(e)) => Err(e),
        }
    }
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use crate::ResetError;
    use crate::testing::{NEW_PASSWORD, fixture_with};
    use std::time::Duration;

    use crate::domain::{ClientInfo, GrantPurpose, UnixTime};

    #[tokio::test]
    async fn age_and_skew_bounds() {
        let f = fixture_with(&[
            ("REKEY_SIGNED_LINK_TTL_SECONDS", "600"),
            ("REKEY_SIGNED_LINK_MAX_SKEW_SECONDS", "30"),
        ])
        .await;
        let user = f.add_user("ada@example.com").await;
        let check = |timestamp: UnixTime| {
            let id = user.id.to_string();
            let (f, user) = (&f, &user);
            async move {
                let signature = f
                    .service
                    .issue_signed_link(user, timestamp, &ClientInfo::default())
                    .await
                    .unwrap();
                f.service
                    .inspect_signed_link(&id, timestamp, &signature)
                    .await
            }
        };
        let t = f.now();
        assert!(check(t).await.is_ok());
        // Well inside the lifetime, and a few seconds from the end of it.
        assert!(check(t - Duration::from_secs(300)).await.is_ok());
        assert!(check(t - Duration::from_secs(590)).await.is_ok());
        assert!(matches!(
            check(t - Duration::from_secs(700)).await,
            Err(ResetError::SignatureExpired)
        ));
        // From a clock a little ahead: tolerated up to the skew.
        assert!(check(t + Duration::from_secs(20)).await.is_ok());
        assert!(matches!(
            check(t + Duration::from_secs(120)).await,
            Err(ResetError::InvalidSignature)
        ));
        // The ends of i64 neither overflow nor pass.
        assert!(matches!(
            check(UnixTime::from_secs(i64::MIN)).await,
            Err(ResetError::SignatureExpired)
        ));
        assert!(matches!(
            check(UnixTime::from_secs(i64::MAX)).await,
            Err(ResetError::InvalidSignature)
        ));
    }

    /// A link signed now expires when the clock passes its lifetime, and
    /// not a second before.
    #[tokio::test]
    async fn a_link_expires_as_time_passes() {
        let f = fixture_with(&[("REKEY_SIGNED_LINK_TTL_SECONDS", "600")]).await;
        let user = f.add_user("ada@example.com").await;
        let t = f.now();
        let signature = f
            .service
            .issue_signed_link(&user, t, &ClientInfo::default())
            .await
            .unwrap();
        let id = user.id.to_string();
        f.clock.advance(Duration::from_secs(600));
        assert!(
            f.service
                .inspect_signed_link(&id, t, &signature)
                .await
                .is_ok()
        );
        f.clock.advance(Duration::from_secs(1));
        assert!(matches!(
            f.service.inspect_signed_link(&id, t, &signature).await,
            Err(ResetError::SignatureExpired)
        ));
    }

    #[tokio::test]
    async fn a_signature_binds_user_time_and_credential_version() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let other = f.add_user("grace@example.com").await;
        let t = f.now();
        let client = ClientInfo::default();
        let signature = f
            .service
            .issue_signed_link(&user, t, &client)
            .await
            .unwrap();
        let id = user.id.to_string();
        for (id, timestamp, signature) in [
            (other.id.to_string(), t, signature.clone()),
            (id.clone(), t - Duration::from_secs(1), signature.clone()),
            (id.clone(), t, "not base64!".to_string()),
            ("bad id with spaces".to_string(), t, signature.clone()),
        ] {
            assert!(matches!(
                f.service
                    .inspect_signed_link(&id, timestamp, &signature)
                    .await,
                Err(ResetError::InvalidSignature)
            ));
        }
        f.service
            .reset_with_signature(&id, t, &signature, NEW_PASSWORD, &client)
            .await
            .unwrap();
        // Used once: the change moved the credential version it was bound to.
        assert!(matches!(
            f.service
                .reset_with_signature(&id, t, &signature, "Third-Lantern-77-Orbit", &client)
                .await,
            Err(ResetError::InvalidSignature)
        ));
    }

    #[tokio::test]
    async fn a_used_link_is_used_even_when_the_version_did_not_move() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        let t = f.now();
        // Two links of the same second, under the same version: each has
        // its own nonce, so they differ.
        let first = f
            .service
            .issue_signed_link(&user, t, &client)
            .await
            .unwrap();
        let second = f
            .service
            .issue_signed_link(&user, t, &client)
            .await
            .unwrap();
        assert_ne!(first, second);
        let id = user.id.to_string();
        f.service
            .reset_with_signature(&id, t, &first, NEW_PASSWORD, &client)
            .await
            .unwrap();
        // Were the version not moved, the first link would still be used
        // (its nonce is consumed) while the second one still works.
        f.rewind_credential_version(&user);
        assert!(matches!(
            f.service
                .reset_with_signature(&id, t, &first, "Third-Lantern-77-Orbit", &client)
                .await,
            Err(ResetError::InvalidSignature)
        ));
        assert!(f.service.inspect_signed_link(&id, t, &second).await.is_ok());
        let value =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &first)
                .unwrap();
        let nonce = super::nonce_digest(&value[..super::NONCE_BYTES]);
        let used = f.store.grant(&nonce).await.unwrap().unwrap();
        assert!(used.used_at.is_some());
        assert_eq!(used.purpose, Some(GrantPurpose::SignedLink));
    }

    #[tokio::test]
    async fn a_correctly_signed_link_without_its_nonce_is_refused() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let t = f.now();
        // Signed with the service key, but its nonce was never stored (or
        // was revoked): the signature alone does not redeem.
        let (signature, grant) = f.service.link_signature(&user, t);
        let id = user.id.to_string();
        assert!(matches!(
            f.service.inspect_signed_link(&id, t, &signature).await,
            Err(ResetError::InvalidSignature)
        ));
        assert!(matches!(
            f.service
                .reset_with_signature(&id, t, &signature, NEW_PASSWORD, &ClientInfo::default())
                .await,
            Err(ResetError::InvalidSignature)
        ));
        // Stored, the same link inspects.
        let mail = f.service.reset_mail(
            &user,
            "x".into(),
            None,
            grant.expires_at,
            &ClientInfo::default(),
        );
        f.store.insert_grant(&grant, &mail).await.unwrap();
        assert!(
            f.service
                .inspect_signed_link(&id, t, &signature)
                .await
                .is_ok()
        );
        // A nonce-less signature of before (a bare tag) is refused.
        let bare = &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &signature,
        )
        .unwrap()[super::NONCE_BYTES..];
        let bare = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bare);
        assert!(matches!(
            f.service.inspect_signed_link(&id, t, &bare).await,
            Err(ResetError::InvalidSignature)
        ));
    }
}
