//! The reset operations every contract is built from. Contracts parse and
//! render; this module decides.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, LinkTemplates};
use crate::crypto::{API_KEY_PREFIX, BearerSecret, LINK_TOKEN_PREFIX, ServiceKeys};
use crate::domain::{
    ApiKey, ClientInfo, EmailAddress, PasswordChange, ResetGrant, Scope, User, now,
};
use crate::mail::{MailJob, MailMessage};
use crate::password::{CredentialHasher, NewPassword, PasswordPolicy, PolicyRule, PolicyViolation};
use crate::store::{Store, StoreError};

/// What can go wrong in a reset, independent of any contract's dialect.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("missing or unknown API key")]
    Unauthenticated,
    #[error("API key lacks scope {}", .0.as_str())]
    Forbidden(Scope),
    /// Unknown, malformed, expired, or voided by a password change: the
    /// client is told nothing more specific.
    #[error("invalid or expired token")]
    InvalidToken,
    #[error("token already used")]
    UsedToken,
    #[error("password does not meet the policy")]
    WeakPassword(Vec<PolicyViolation>),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data; detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ResetError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ResetError::Unavailable(m),
            other => ResetError::Internal(other.to_string()),
        }
    }
}

/// Called after mail is queued: the local server wakes its outbox worker.
pub type MailQueuedHook = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub struct ResetService {
    pub store: Arc<dyn Store>,
    pub keys: ServiceKeys,
    pub links: LinkTemplates,
    pub policy: PasswordPolicy,
    pub hasher: CredentialHasher,
    pub token_ttl: Duration,
    pub product_name: String,
    pub on_mail_queued: Option<MailQueuedHook>,
}

impl ResetService {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Self {
        Self {
            store,
            keys: config.keys.clone(),
            links: config.links.clone(),
            policy: config.policy.clone(),
            hasher: CredentialHasher::new(config.hash_params),
            token_ttl: config.token_ttl,
            product_name: config.product_name.clone(),
            on_mail_queued: None,
        }
    }

    fn mail_queued(&self) {
        if let Some(hook) = &self.on_mail_queued {
            hook();
        }
    }

    /// Checks an API key presented by a caller for `scope`.
    pub async fn authorize(
        &self,
        presented: Option<&str>,
        scope: Scope,
    ) -> Result<ApiKey, ResetError> {
        let secret = presented
            .map(str::trim)
            .and_then(|raw| BearerSecret::parse(API_KEY_PREFIX, raw))
            .ok_or(ResetError::Unauthenticated)?;
        let key = self
            .store
            .api_key(&secret.digest())
            .await?
            .filter(|k| !k.revoked)
            .ok_or(ResetError::Unauthenticated)?;
        if !key.allows(scope) {
            return Err(ResetError::Forbidden(scope));
        }
        Ok(key)
    }

    /// Issues a link token and queues its mail, when the address has an
    /// active account. The caller answers the same either way.
    pub async fn request_link(
        &self,
        email: &EmailAddress,
        entry: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let email_ref = self.keys.log_ref(email.as_str());
        let Some(user) = self.store.user_by_email(email).await? else {
            tracing::info!(
                email_ref,
                "reset requested for an address without an account"
            );
            return Ok(());
        };
        if user.disabled {
            tracing::info!(email_ref, user_id = %user.id, "reset requested for a disabled account");
            return Ok(());
        }
        let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
        let issued_at = now();
        let grant = ResetGrant {
            digest: token.digest(),
            user_id: user.id.clone(),
            credential_version: user.credential_version,
            issued_at,
            expires_at: issued_at + self.token_ttl.as_secs() as i64,
            used_at: None,
        };
        let mail = MailJob {
            to: user.email.as_str().to_string(),
            user_id: user.id.clone(),
            name: user.display_name(),
            message: MailMessage::ResetLink {
                link: self.links.for_entry(entry).render(token.expose()),
                requested_at: issued_at,
                expires_at: grant.expires_at,
                source_ip: client.source_ip.clone(),
            },
        }
        .seal(&self.keys);
        self.store.insert_grant(&grant, &mail).await?;
        tracing::info!(email_ref, user_id = %user.id, outbox_id = %mail.id, "reset link issued");
        self.mail_queued();
        Ok(())
    }

    /// The grant and user a link token stands for, if it may still be used.
    /// Never consumes the token: mail scanners open links.
    pub async fn inspect_token(&self, raw: &str) -> Result<(ResetGrant, User), ResetError> {
        let token =
            BearerSecret::parse(LINK_TOKEN_PREFIX, raw.trim()).ok_or(ResetError::InvalidToken)?;
        let grant = self
            .store
            .grant(&token.digest())
            .await?
            .ok_or(ResetError::InvalidToken)?;
        if grant.used_at.is_some() {
            return Err(ResetError::UsedToken);
        }
        if grant.is_expired(now()) {
            return Err(ResetError::InvalidToken);
        }
        let user = self
            .store
            .user(&grant.user_id)
            .await?
            .filter(|u| !u.disabled && u.credential_version == grant.credential_version)
            .ok_or(ResetError::InvalidToken)?;
        Ok((grant, user))
    }

    /// Applies the policy; for a known user also the email and history rules.
    pub async fn check_password(
        &self,
        raw: &str,
        user: Option<&User>,
    ) -> Result<NewPassword, ResetError> {
        let password = NewPassword::normalize(raw);
        let mut failed = self.policy.check(&password, user.map(|u| u.email.as_str()));
        if failed.is_empty()
            && self.policy.history > 0
            && let Some(user) = user
        {
            let recent: Vec<String> = user
                .password_hash
                .iter()
                .chain(user.password_history.iter())
                .take(self.policy.history)
                .cloned()
                .collect();
            if self
                .hasher
                .matches_any_off_executor(&password, recent)
                .await
            {
                failed.push(PolicyViolation {
                    rule: PolicyRule::Reused,
                    message: format!(
                        "must differ from the last {} passwords",
                        self.policy.history
                    ),
                });
            }
        }
        if failed.is_empty() {
            Ok(password)
        } else {
            Err(ResetError::WeakPassword(failed))
        }
    }

    /// Redeems a link token: checks the password, then consumes the token and
    /// writes the new hash in one conditional transaction.
    pub async fn reset_with_token(
        &self,
        raw_token: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        let (grant, user) = self.inspect_token(raw_token).await?;
        let password = self.check_password(raw_password, Some(&user)).await?;
        let new_hash = self
            .hasher
            .hash_off_executor(password)
            .await
            .map_err(|e| ResetError::Internal(e.to_string()))?;
        let change = self.password_change(&user, new_hash, client);
        match self.store.redeem_grant(&grant.digest, &change).await {
            Ok(()) => {}
            // Lost a race: say what the winner left behind.
            Err(StoreError::Conflict(_)) => {
                return Err(match self.inspect_token(raw_token).await {
                    Err(e) => e,
                    Ok(_) => ResetError::InvalidToken,
                });
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user.id, outbox_id = %change.notice.id, "password reset with link token");
        self.mail_queued();
        Ok(user)
    }

    fn password_change(
        &self,
        user: &User,
        new_hash: String,
        client: &ClientInfo,
    ) -> PasswordChange {
        let changed_at = now();
        let history = user
            .password_hash
            .iter()
            .chain(user.password_history.iter())
            .take(self.policy.history)
            .cloned()
            .collect();
        let notice = MailJob {
            to: user.email.as_str().to_string(),
            user_id: user.id.clone(),
            name: user.display_name(),
            message: MailMessage::PasswordChanged {
                changed_at,
                source_ip: client.source_ip.clone(),
            },
        }
        .seal(&self.keys);
        PasswordChange {
            user_id: user.id.clone(),
            expected: user.credential_version,
            new_hash,
            history,
            changed_at,
            notice,
        }
    }
}
