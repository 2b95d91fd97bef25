//! Zitadel's reset codes: a short code per user, returned or mailed, and
//! SetPassword with a code, the current password, or an admin's key.

use crate::crypto::short_code;
use crate::domain::{ApiKey, ClientInfo, Redemption, ResetCode, Scope, UnixTime, User, UserId};
use crate::password::Profile;
use crate::store::StoreError;
use crate::url_template::CodeUrlTemplate;

use super::password_change::{ChangeInput, SetPasswordError};
use super::{ResetError, ResetService};

/// Zitadel's `details`: the account's change sequence, when, and its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeDetails {
    pub sequence: u64,
    pub change_date: UnixTime,
    pub resource_owner: String,
}

/// How a Zitadel code reaches the user.
pub enum CodeDelivery {
    /// Returned to the caller; nothing is sent.
    ReturnCode,
    /// Mailed as a link from the client's template, or the configured one.
    SendLink(Option<CodeUrlTemplate>),
}

/// What proves the caller may set a user's password (Zitadel SetPassword).
pub enum PasswordProof {
    Code(String),
    CurrentPassword(String),
    /// No proof; only for keys with `users:admin`.
    None,
}

/// The key purpose codes are digested and compared under.
const CODE_PURPOSE: &str = "reset-code";

impl ResetService {
    fn details(&self, user: &User, sequence: u64, change_date: UnixTime) -> ChangeDetails {
        ChangeDetails {
            sequence,
            change_date,
            resource_owner: self.keys.org_of(user),
        }
    }

    /// An enabled account of an organisation `key` acts for, or
    /// `UserNotFound`: Zitadel does not tell a disabled user, or one of
    /// another organisation, from a missing one.
    async fn code_user(&self, user_id: &UserId, key: &ApiKey) -> Result<User, ResetError> {
        self.find_user(user_id)
            .await?
            .filter(|u| !u.disabled && self.keys.reaches(key, u))
            .ok_or(ResetError::UserNotFound)
    }

    /// Zitadel PasswordReset: a new code for the user, replacing any earlier
    /// one; returned or mailed. Returns the code only for `ReturnCode`, and
    /// only to a `users:admin` key: a returned code sets the password, so
    /// asking for one is setting it without proof.
    pub async fn issue_code(
        &self,
        user_id: &UserId,
        delivery: CodeDelivery,
        key: &ApiKey,
        client: &ClientInfo,
    ) -> Result<(ChangeDetails, Option<String>), ResetError> {
        if matches!(delivery, CodeDelivery::ReturnCode) && !key.allows(Scope::UsersAdmin) {
            return Err(ResetError::Forbidden(Scope::UsersAdmin));
        }
        crate::metrics::count(crate::metrics::Metric::ResetsRequested);
        let user = self.code_user(user_id, key).await?;
        if let CodeDelivery::SendLink(Some(template)) = &delivery
            && !self
                .config
                .links
                .origin_allowed_for(&self.keys.org_of(&user), &template.origin())
        {
            return Err(ResetError::DestinationNotAllowed);
        }
        if matches!(delivery, CodeDelivery::SendLink(_)) {
            // The caller names the user, so it may hear that the address is
            // past its mail limits: 429, as for any other limit.
            self.limiter.limit_mail_to(&user.email).await?;
        }
        let codes = &self.config.codes;
        let code = short_code(codes.length);
        let stored = ResetCode::issue(
            user.id.clone(),
            self.code_digest(&user.id, &code),
            user.credential_version,
            self.clock.now(),
            codes.ttl,
        );
        let (mail, returned) = match delivery {
            CodeDelivery::ReturnCode => (None, Some(code.clone())),
            CodeDelivery::SendLink(template) => {
                let template = template.as_ref().unwrap_or(&self.config.links.code);
                let link = template.render(user.id.as_str(), &code, &self.keys.org_of(&user));
                let mail = self.reset_mail(&user, link, Some(code), stored.expires_at, client);
                (Some(mail), None)
            }
        };
        let sequence = self
            .credentials
            .replace_reset_code(&stored, mail.as_ref())
            .await?;
        tracing::info!(user_id = %user.id, mailed = mail.is_some(), "reset code issued");
        if mail.is_some() {
            self.mail_queued();
        }
        Ok((self.details(&user, sequence, stored.issued_at), returned))
    }

    fn code_digest(&self, user: &UserId, code: &str) -> String {
        hex::encode(
            self.config
                .keys
                .sign(CODE_PURPOSE, &[user.as_str().as_bytes(), code.as_bytes()]),
        )
    }

    /// Zitadel SetPassword: with the user's code, the current password, or
    /// (for admins) nothing.
    pub async fn set_password_with_proof(
        &self,
        user_id: &UserId,
        raw_password: &str,
        proof: PasswordProof,
        key: &ApiKey,
        client: &ClientInfo,
    ) -> Result<ChangeDetails, ResetError> {
        let user = self.code_user(user_id, key).await?;
        // The policy first: a weak password must not cost a code attempt.
        // The history only after the proof (`refuse_reused`).
        let password = self
            .check_password(raw_password, Some(&user), Profile::Nist)
            .await?;
        let action = match &proof {
            PasswordProof::Code(_) => "password_reset_code",
            PasswordProof::CurrentPassword(_) => "password_change",
            PasswordProof::None => "password_set_by_admin",
        };
        let redemption = match proof {
            PasswordProof::Code(code) => self.verify_code(&user, &code, client).await?,
            PasswordProof::CurrentPassword(current) => {
                let current = zeroize::Zeroizing::new(current);
                if !self.passwords.verify(&user, &current, client).await? {
                    self.audit_refusal(&user, "password_change", "wrong_current_password", client)
                        .await;
                    return Err(ResetError::WrongCurrentPassword);
                }
                Redemption::Nothing
            }
            PasswordProof::None if key.allows(Scope::UsersAdmin) => Redemption::Nothing,
            PasswordProof::None => return Err(ResetError::VerificationRequired),
        };
        self.refuse_reused(&user, &password, client).await?;
        let change = match self
            .set_password(
                &user,
                password,
                ChangeInput {
                    redemption: redemption.clone(),
                    session: None,
                    action,
                    client,
                },
            )
            .await
        {
            Ok(change) => change,
            Err(SetPasswordError::LostRace) => {
                return Err(match redemption {
                    Redemption::Code { .. } => ResetError::CodeExpired,
                    _ => ResetError::Unavailable("the account changed meanwhile; retry".into()),
                });
            }
            Err(SetPasswordError::Reset(e)) => return Err(e),
        };
        // The store bumped the sequence with the change; read what it left.
        let sequence = self
            .accounts
            .user(&user.id)
            .await?
            .map_or(user.sequence + 1, |u| u.sequence);
        Ok(self.details(&user, sequence, change.changed_at))
    }

    /// Claims an attempt, then compares in constant time. At most
    /// `max_attempts` comparisons happen per code, however many arrive at once.
    async fn verify_code(
        &self,
        user: &User,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<Redemption, ResetError> {
        // Guesses per user across codes: a new code does not buy new guesses.
        self.limiter.limit_code_attempts(user).await?;
        let code = self
            .credentials
            .reset_code(&user.id)
            .await?
            .ok_or(ResetError::CodeExpired)?;
        if code.credential_version != user.credential_version || code.expires_at <= self.clock.now()
        {
            return Err(ResetError::CodeExpired);
        }
        match self
            .credentials
            .claim_code_attempt(&code, self.config.codes.max_attempts)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(ResetError::CodeExpired),
            Err(e) => return Err(e.into()),
        }
        let presented = presented.trim().to_ascii_uppercase();
        let expected = hex::decode(&code.digest)
            .map_err(|e| ResetError::internal("a stored code digest", e))?;
        if !self.config.keys.verify(
            CODE_PURPOSE,
            &[user.id.as_str().as_bytes(), presented.as_bytes()],
            &expected,
        ) {
            tracing::info!(user_id = %user.id, attempt = code.attempts + 1, "wrong reset code");
            self.audit_refusal(user, "password_reset_code", "code_mismatch", client)
                .await;
            return Err(ResetError::CodeMismatch);
        }
        Ok(Redemption::Code {
            digest: code.digest,
        })
    }
}

#[cfg(test)]
#[cfg(feature = "embedded")]
mod tests {
    use super::{CodeDelivery, PasswordProof};
    use crate::ResetError;
    use crate::domain::{ApiKey, ClientInfo, Scope, User};
    use crate::testing::{Fixture, NEW_PASSWORD, OLD_PASSWORD, fixture_with};

    fn key(scopes: &[Scope]) -> ApiKey {
        ApiKey {
            digest: crate::crypto::SecretDigest::of("k"),
            name: "test".into(),
            scopes: scopes.to_vec(),
            created_at: crate::domain::UnixTime::EPOCH,
            revoked: false,
            org: Default::default(),
        }
    }

    async fn returned_code(f: &Fixture, user: &User) -> String {
        let (_, code) = f
            .service
            .issue_code(
                &user.id,
                CodeDelivery::ReturnCode,
                &key(&[Scope::UsersAdmin]),
                &ClientInfo::default(),
            )
            .await
            .unwrap();
        code.unwrap()
    }

    fn wrong(code: &str) -> String {
        let first = if code.starts_with('A') { "B" } else { "A" };
        format!("{first}{}", &code[1..])
    }

    async fn with_code(f: &Fixture, user: &User, code: &str) -> Result<(), ResetError> {
        f.service
            .set_password_with_proof(
                &user.id,
                NEW_PASSWORD,
                PasswordProof::Code(code.to_string()),
                &key(&[Scope::UsersWrite]),
                &ClientInfo::default(),
            )
            .await
            .map(|_| ())
    }

    #[tokio::test]
    async fn a_code_sets_the_password_once() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let code = returned_code(&f, &user).await;
        assert_eq!(code.len(), f.config.codes.length);
        let details = f
            .service
            .set_password_with_proof(
                &user.id,
                NEW_PASSWORD,
                // Pasted in lower case, with a stray space: still the code.
                PasswordProof::Code(format!(" {} ", code.to_lowercase())),
                &key(&[Scope::UsersWrite]),
                &ClientInfo::default(),
            )
            .await
            .unwrap();
        let stored = f.reload(&user).await;
        assert_eq!(details.sequence, stored.sequence);
        assert_eq!(details.resource_owner, f.config.default_org);
        assert!(matches!(
            with_code(&f, &user, &code).await,
            Err(ResetError::CodeExpired)
        ));
    }

    #[tokio::test]
    async fn wrong_guesses_use_up_the_codes_attempts() {
        let f = fixture_with(&[("REKEY_CODE_MAX_ATTEMPTS", "3")]).await;
        let user = f.add_user("ada@example.com").await;
        let code = returned_code(&f, &user).await;
        for _ in 0..3 {
            assert!(matches!(
                with_code(&f, &user, &wrong(&code)).await,
                Err(ResetError::CodeMismatch)
            ));
        }
        assert!(matches!(
            with_code(&f, &user, &code).await,
            Err(ResetError::CodeExpired)
        ));
        // A new code brings new attempts.
        let fresh = returned_code(&f, &user).await;
        with_code(&f, &user, &fresh).await.unwrap();
    }

    #[tokio::test]
    async fn a_weak_password_costs_no_attempt() {
        let f = fixture_with(&[("REKEY_CODE_MAX_ATTEMPTS", "1")]).await;
        let user = f.add_user("ada@example.com").await;
        let code = returned_code(&f, &user).await;
        let weak = f
            .service
            .set_password_with_proof(
                &user.id,
                "short",
                PasswordProof::Code(wrong(&code)),
                &key(&[Scope::UsersWrite]),
                &ClientInfo::default(),
            )
            .await;
        assert!(matches!(weak, Err(ResetError::WeakPassword(_))));
        with_code(&f, &user, &code).await.unwrap();
    }

    #[tokio::test]
    async fn guesses_per_user_are_limited_across_codes() {
        let f = fixture_with(&[("REKEY_LIMIT_CODE_ATTEMPTS_PER_HOUR", "2")]).await;
        let user = f.add_user("ada@example.com").await;
        for _ in 0..2 {
            let code = returned_code(&f, &user).await;
            assert!(matches!(
                with_code(&f, &user, &wrong(&code)).await,
                Err(ResetError::CodeMismatch)
            ));
        }
        let code = returned_code(&f, &user).await;
        assert!(matches!(
            with_code(&f, &user, &code).await,
            Err(ResetError::RateLimited { .. })
        ));
    }

    #[tokio::test]
    async fn other_proofs_and_unknown_users() {
        let f = fixture_with(&[]).await;
        let user = f.add_user("ada@example.com").await;
        let client = ClientInfo::default();
        let set = |proof, scopes: &'static [Scope]| {
            let f = &f;
            let id = user.id.clone();
            let client = client.clone();
            async move {
                f.service
                    .set_password_with_proof(&id, NEW_PASSWORD, proof, &key(scopes), &client)
                    .await
            }
        };
        assert!(matches!(
            set(PasswordProof::None, &[Scope::UsersWrite]).await,
            Err(ResetError::VerificationRequired)
        ));
        assert!(matches!(
            set(
                PasswordProof::CurrentPassword("nope".into()),
                &[Scope::UsersWrite]
            )
            .await,
            Err(ResetError::WrongCurrentPassword)
        ));
        let events = f.store.audit_events(&user.id, 10).await.unwrap();
        assert_eq!(events[0].outcome, "wrong_current_password");
        set(
            PasswordProof::CurrentPassword(OLD_PASSWORD.into()),
            &[Scope::UsersWrite],
        )
        .await
        .unwrap();
        f.disable(&user).await;
        assert!(matches!(
            set(PasswordProof::None, &[Scope::UsersAdmin]).await,
            Err(ResetError::UserNotFound)
        ));
        assert!(matches!(
            f.service
                .issue_code(
                    &user.id,
                    CodeDelivery::ReturnCode,
                    &key(&[Scope::UsersAdmin]),
                    &client
                )
                .await,
            Err(ResetError::UserNotFound)
        ));
    }
}
