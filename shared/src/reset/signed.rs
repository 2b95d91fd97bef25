//! Signed reset links (django-rest-registration): nothing stored, the
//! signature binds the user, the time, and the credential version.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{ClientInfo, EmailAddress, Redemption, User, UserId, expiry, now};

use super::change::SetPasswordError;
use super::{ResetError, ResetService};

/// Domain tag of signed reset links: a signature made for anything else
/// never verifies here.
const SIGNED_LINK_TAG: &[u8] = b"rekey/reset-password-link/v1";

/// The key purpose signed links are signed under.
const SIGNED_LINK_PURPOSE: &str = "signed-reset-link";

fn signed_parts(user: &User, timestamp: i64) -> [Vec<u8>; 4] {
    [
        SIGNED_LINK_TAG.to_vec(),
        user.id.as_str().as_bytes().to_vec(),
        timestamp.to_be_bytes().to_vec(),
        user.credential_version.0.to_be_bytes().to_vec(),
    ]
}

impl ResetService {
    /// The signature of a reset link for `user` at `timestamp`: bound to the
    /// user's credential version, so any password change voids it.
    pub fn link_signature(&self, user: &User, timestamp: i64) -> String {
        let parts = signed_parts(user, timestamp);
        let tag = self
            .config
            .keys
            .sign(SIGNED_LINK_PURPOSE, &parts.each_ref().map(|p| p.as_slice()));
        URL_SAFE_NO_PAD.encode(tag)
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
            return self.complete_intake(intake, None, None).await;
        };
        let timestamp = now();
        let signature = self.link_signature(&user, timestamp);
        let link = self.config.links.signed.render(&[
            ("user_id", user.id.as_str()),
            ("timestamp", &timestamp.to_string()),
            ("signature", &signature),
        ]);
        let expires_at = expiry(timestamp, self.config.signed_links.ttl);
        let mail = self.reset_mail(&user, link, None, expires_at, client);
        if !self.complete_intake(intake, None, Some(&mail)).await? {
            return Ok(false);
        }
        tracing::info!(user_id = %user.id, outbox_id = %mail.id, "signed reset link issued");
        self.mail_queued();
        Ok(true)
    }

    /// Checks a signed link: the signature first (so nothing is said about a
    /// forged link's age), then its age and clock skew.
    pub async fn inspect_signed_link(
        &self,
        user_id: &str,
        timestamp: i64,
        signature: &str,
    ) -> Result<User, ResetError> {
        let user = match UserId::parse(user_id) {
            Some(id) => self.store.user(&id).await?,
            None => None,
        }
        .filter(|u| !u.disabled)
        .ok_or(ResetError::InvalidSignature)?;
        let tag = URL_SAFE_NO_PAD
            .decode(signature.trim())
            .map_err(|_| ResetError::InvalidSignature)?;
        let parts = signed_parts(&user, timestamp);
        if !self.config.keys.verify(
            SIGNED_LINK_PURPOSE,
            &parts.each_ref().map(|p| p.as_slice()),
            &tag,
        ) {
            return Err(ResetError::InvalidSignature);
        }
        let policy = &self.config.signed_links;
        // Saturating: a signed timestamp at either end of i64 must not
        // overflow (only the server signs, but the check must hold anyway).
        let age = now().saturating_sub(timestamp);
        if age > policy.ttl.as_secs() as i64 {
            return Err(ResetError::SignatureExpired);
        }
        if age.saturating_neg() > policy.max_skew.as_secs() as i64 {
            return Err(ResetError::InvalidSignature);
        }
        Ok(user)
    }

    /// Resets with a signed link. Single use: the change bumps the
    /// credential version the signature is bound to.
    pub async fn reset_with_signature(
        &self,
        user_id: &str,
        timestamp: i64,
        signature: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        let user = self
            .inspect_signed_link(user_id, timestamp, signature)
            .await?;
        let password = self.check_password(raw_password, Some(&user)).await?;
        match self
            .set_password(
                &user,
                password,
                Redemption::Nothing,
                None,
                "password_reset_signed_link",
                client,
            )
            .await
        {
            Ok(_) => Ok(user),
            Err(SetPasswordError::LostRace) => Err(ResetError::InvalidSignature),
            Err(SetPasswordError::Reset(e)) => Err(e),
        }
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::super::testing::{NEW_PASSWORD, fixture_with};
    use crate::ResetError;
    use crate::domain::{ClientInfo, now};

    #[tokio::test]
    async fn age_and_skew_bounds() {
        let f = fixture_with(&[
            ("REKEY_SIGNED_LINK_TTL_SECONDS", "600"),
            ("REKEY_SIGNED_LINK_MAX_SKEW_SECONDS", "30"),
        ])
        .await;
        let user = f.add_user("ada@example.com").await;
        let check = |timestamp: i64| {
            let signature = f.service.link_signature(&user, timestamp);
            let id = user.id.to_string();
            let f = &f;
            async move {
                f.service
                    .inspect_signed_link(&id, timestamp, &signature)
                    .await
            }
        };
        let t = now();
        assert!(check(t).await.is_ok());
        // Well inside the lifetime, and a few seconds from the end of it.
        assert!(check(t - 300).await.is_ok());
        assert!(check(t - 590).await.is_ok());
        assert!(matches!(
            check(t - 700).await,
            Err(ResetError::SignatureExpired)
        ));
        // From a clock a little ahead: tolerated up to the skew.
        assert!(check(t + 20).await.is_ok());
        assert!(matches!(
            check(t + 120).await,
            Err(ResetError::InvalidSignature)
        ));
        // The ends of i64 neither overflow nor pass.
        assert!(matches!(
            check(i64::MIN).await,
            Err(ResetError::SignatureExpired)
        ));
        assert!(matches!(
            check(i64::MAX).await,
            Err(ResetError::InvalidSignature)
        ));
    }

    #[tokio::test]
    async fn a_signature_binds_user_time_and_credential_version() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let other = f.add_user("grace@example.com").await;
        let t = now();
        let signature = f.service.link_signature(&user, t);
        let id = user.id.to_string();
        for (id, timestamp, signature) in [
            (other.id.to_string(), t, signature.clone()),
            (id.clone(), t - 1, signature.clone()),
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
        let client = ClientInfo::default();
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
}
