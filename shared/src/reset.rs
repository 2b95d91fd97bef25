//! The reset operations every contract is built from. Contracts parse and
//! render; this module decides.

use std::sync::Arc;

use crate::config::{CodePolicy, Config, Limits, LinkTemplates, SessionPolicy, SignedLinkPolicy};
use crate::crypto::{
    API_KEY_PREFIX, BearerSecret, LINK_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, ServiceKeys, short_code,
};
use crate::domain::{
    ApiKey, AuditEvent, ClientInfo, EmailAddress, PasswordChange, Redemption, RefreshToken,
    ResetCode, ResetGrant, Scope, UnixTime, User, UserId, now,
};
use crate::link::CodeUrlTemplate;
use crate::mail::{MailJob, MailMessage};
use crate::password::{
    CredentialHasher, NewPassword, PasswordPolicy, PolicyRule, PolicyViolation, Verification,
};
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
    #[error("no such user")]
    UserNotFound,
    /// No code, an expired one, one voided by a password change or by too
    /// many attempts.
    #[error("the code is expired or no longer valid; request a new one")]
    CodeExpired,
    #[error("the code is wrong")]
    CodeMismatch,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("a verification code or the current password is required")]
    VerificationRequired,
    #[error("invalid signature")]
    InvalidSignature,
    #[error("signature expired")]
    SignatureExpired,
    /// A delivery channel or feature this deployment does not have.
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    /// Past a limit; try again after this many seconds.
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
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

/// A log-in after account recovery: an access token and a refresh token.
pub struct Session {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: BearerSecret,
    pub client_id: String,
    pub scope: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub scope: String,
    /// The credential version: a verifier can refuse tokens issued before a
    /// password change.
    pub ver: u64,
}

/// Domain tag of signed reset links: a signature made for anything else
/// never verifies here.
const SIGNED_LINK_TAG: &[u8] = b"rekey/reset-password-link/v1";

#[derive(Clone)]
pub struct ResetService {
    pub store: Arc<dyn Store>,
    pub keys: ServiceKeys,
    pub links: LinkTemplates,
    pub policy: PasswordPolicy,
    pub hasher: CredentialHasher,
    pub token_ttl: std::time::Duration,
    pub codes: CodePolicy,
    pub signed_links: SignedLinkPolicy,
    pub session: SessionPolicy,
    pub default_org: String,
    pub limits: Limits,
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
            codes: config.codes.clone(),
            signed_links: config.signed_links.clone(),
            session: config.session.clone(),
            default_org: config.default_org.clone(),
            limits: config.limits.clone(),
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

    /// Counts a hit on `key` in the current `window`; Err with the seconds
    /// left in the window when more than `limit` hits were counted.
    async fn over_limit(&self, key: &str, window: i64, limit: u64) -> Result<(), ResetError> {
        let t = now();
        let start = t - t.rem_euclid(window);
        let hits = self.store.count_hit(key, start, start + 2 * window).await?;
        if hits > limit {
            return Err(ResetError::RateLimited {
                retry_after: (start + window - t).max(1) as u64,
            });
        }
        Ok(())
    }

    /// Requests from one source address to one public endpoint. The address
    /// is kept only as a keyed digest.
    pub async fn limit_source(
        &self,
        function: crate::routes::Function,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let Some(ip) = &client.source_ip else {
            return Ok(());
        };
        let key = format!("source:{}:{}", function.name(), self.keys.log_ref(ip));
        self.over_limit(&key, 60, self.limits.source_per_minute)
            .await
    }

    /// The active account for an address, or None (logged by reference):
    /// none, disabled, or past the address's mail limits, which the caller
    /// cannot tell apart. Every call is a reset request, counted either way.
    async fn active_account(
        &self,
        email: &EmailAddress,
        what: &str,
    ) -> Result<Option<User>, ResetError> {
        crate::metrics::count(crate::metrics::Metric::ResetsRequested);
        let email_ref = self.keys.log_ref(email.as_str());
        // Counted for every address, known or not: the same work either way.
        let key = format!("email:{email_ref}");
        let limited = self
            .over_limit(&format!("{key}:m"), 60, self.limits.email_per_minute)
            .await
            .and(
                self.over_limit(&format!("{key}:h"), 3600, self.limits.email_per_hour)
                    .await,
            );
        let user = self.store.user_by_email(email).await?;
        match (user, limited) {
            (_, Err(ResetError::RateLimited { .. })) => {
                tracing::info!(email_ref, what, "address past its mail limit; no mail");
                Ok(None)
            }
            (_, Err(e)) => Err(e),
            (None, Ok(())) => {
                tracing::info!(
                    email_ref,
                    what,
                    "requested for an address without an account"
                );
                Ok(None)
            }
            (Some(u), Ok(())) if u.disabled => {
                tracing::info!(email_ref, what, user_id = %u.id, "requested for a disabled account");
                Ok(None)
            }
            (Some(u), Ok(())) => Ok(Some(u)),
        }
    }

    /// What a request for an address with no (active, unlimited) account
    /// does instead of issuing: the same reads and writes, of records nothing
    /// will read, so neither the answer nor its timing tells the cases apart.
    async fn decoy(&self) -> Result<(), ResetError> {
        let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
        let issued_at = now();
        let grant = ResetGrant {
            digest: token.digest(),
            user_id: UserId::generate(),
            credential_version: crate::domain::CredentialVersion(0),
            issued_at,
            expires_at: issued_at + self.token_ttl.as_secs() as i64,
            used_at: None,
        };
        // The sealing a real mail costs, of a message nobody receives.
        let _ = MailJob {
            to: String::new(),
            user_id: grant.user_id.clone(),
            name: String::new(),
            locale: None,
            accept_language: None,
            message: MailMessage::ResetLink {
                link: self.links.default.render(&[("token", token.expose())]),
                code: None,
                requested_at: issued_at,
                expires_at: grant.expires_at,
                source_ip: None,
            },
        }
        .seal(&self.keys);
        self.store.insert_decoy(&grant).await?;
        Ok(())
    }

    fn reset_mail(
        &self,
        user: &User,
        link: String,
        code: Option<String>,
        expires_at: UnixTime,
        client: &ClientInfo,
    ) -> MailJob {
        MailJob {
            to: user.email.as_str().to_string(),
            user_id: user.id.clone(),
            name: user.display_name(),
            locale: user.locale.clone(),
            accept_language: client.accept_language.clone(),
            message: MailMessage::ResetLink {
                link,
                code,
                requested_at: now(),
                expires_at,
                source_ip: client.source_ip.clone(),
            },
        }
    }

    /// Issues a link token and queues its mail, when the address has an
    /// active account. The caller answers the same either way. `link`
    /// chooses where the link points (Payabli's entry, or recovery).
    pub async fn request_link(
        &self,
        email: &EmailAddress,
        link: &crate::link::LinkTemplate,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let Some(user) = self.active_account(email, "reset link").await? else {
            return self.decoy().await;
        };
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
        let url = link.render(&[("token", token.expose())]);
        let mail = self
            .reset_mail(&user, url, None, grant.expires_at, client)
            .seal(&self.keys);
        self.store.insert_grant(&grant, &mail).await?;
        tracing::info!(user_id = %user.id, outbox_id = %mail.id, "reset link issued");
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
            .filter(|u| !u.disabled)
            .ok_or(ResetError::InvalidToken)?;
        if user.credential_version != grant.credential_version {
            // A password change may have landed between the two reads; if it
            // was this grant's own redemption, the token is used, not void.
            let again = self.store.grant(&token.digest()).await?;
            return Err(match again {
                Some(g) if g.used_at.is_some() => ResetError::UsedToken,
                _ => ResetError::InvalidToken,
            });
        }
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

    /// Hashes a checked password, then writes it while consuming
    /// `redemption`, in one conditional transaction.
    async fn set_password(
        &self,
        user: &User,
        password: NewPassword,
        redemption: Redemption,
        session: Option<RefreshToken>,
        action: &'static str,
        client: &ClientInfo,
    ) -> Result<PasswordChange, SetPasswordError> {
        let new_hash = self
            .hasher
            .hash_off_executor(password)
            .await
            .map_err(|e| ResetError::Internal(e.to_string()))?;
        let change = self.password_change(user, new_hash, session, action, client);
        self.store
            .change_password(&change, &redemption)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => SetPasswordError::LostRace,
                other => SetPasswordError::Reset(other.into()),
            })?;
        tracing::info!(user_id = %user.id, outbox_id = %change.notice.id, "password changed");
        crate::metrics::count(crate::metrics::Metric::ResetsCompleted);
        self.mail_queued();
        Ok(change)
    }

    /// Redeems a link token: checks the password, then consumes the token and
    /// writes the new hash in one conditional transaction.
    pub async fn reset_with_token(
        &self,
        raw_token: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        self.redeem_token(raw_token, raw_password, None, client)
            .await
    }

    async fn redeem_token(
        &self,
        raw_token: &str,
        raw_password: &str,
        session: Option<RefreshToken>,
        client: &ClientInfo,
    ) -> Result<User, ResetError> {
        let (grant, user) = self.inspect_token(raw_token).await?;
        let password = self.check_password(raw_password, Some(&user)).await?;
        let action = if session.is_some() {
            "account_recovery"
        } else {
            "password_reset_link"
        };
        match self
            .set_password(
                &user,
                password,
                Redemption::Grant(grant.digest),
                session,
                action,
                client,
            )
            .await
        {
            Ok(_) => Ok(user),
            // Lost a race: say what the winner left behind.
            Err(SetPasswordError::LostRace) => Err(match self.inspect_token(raw_token).await {
                Err(e) => e,
                Ok(_) => ResetError::InvalidToken,
            }),
            Err(SetPasswordError::Reset(e)) => Err(e),
        }
    }

    /// Redeems a link token and logs the user in (seed 004): the refresh
    /// token is written in the same transaction as the new password.
    pub async fn reset_and_log_in(
        &self,
        raw_token: &str,
        raw_password: &str,
        client: &ClientInfo,
    ) -> Result<Session, ResetError> {
        let (_, user) = self.inspect_token(raw_token).await?;
        let refresh = BearerSecret::generate(REFRESH_TOKEN_PREFIX);
        let issued_at = now();
        let next_version = user.credential_version.next();
        let stored = RefreshToken {
            digest: refresh.digest(),
            user_id: user.id.clone(),
            credential_version: next_version,
            client_id: self.session.client_id.clone(),
            scope: self.session.scope.clone(),
            issued_at,
            expires_at: issued_at + self.session.refresh_ttl.as_secs() as i64,
        };
        let user = self
            .redeem_token(raw_token, raw_password, Some(stored), client)
            .await?;
        let claims = AccessClaims {
            sub: user.id.to_string(),
            iat: issued_at,
            exp: issued_at + self.session.access_ttl.as_secs() as i64,
            iss: self.session.issuer.clone(),
            aud: self.session.audience.clone(),
            scope: self.session.scope.clone(),
            ver: next_version.0,
        };
        Ok(Session {
            access_token: self.sign_access_token(&claims)?,
            expires_in: self.session.access_ttl.as_secs(),
            refresh_token: refresh,
            client_id: self.session.client_id.clone(),
            scope: self.session.scope.clone(),
        })
    }

    /// HS256 under a key derived from the service secret for this purpose.
    pub fn sign_access_token(&self, claims: &AccessClaims) -> Result<String, ResetError> {
        let key = self.keys.derived_key("access-token");
        crate::crypto::hs256::sign(key.as_ref(), claims)
            .map_err(|e| ResetError::Internal(e.to_string()))
    }

    /// Verifies an access token's signature, expiry (60 s of clock skew
    /// allowed, as is usual for JWTs), issuer and audience.
    pub fn verify_access_token(&self, token: &str) -> Result<AccessClaims, ResetError> {
        const LEEWAY_SECS: i64 = 60;
        let key = self.keys.derived_key("access-token");
        let claims: AccessClaims =
            crate::crypto::hs256::verify(key.as_ref(), token).ok_or(ResetError::InvalidToken)?;
        let valid = claims.exp + LEEWAY_SECS > now()
            && claims.iss == self.session.issuer
            && claims.aud == self.session.audience;
        if valid {
            Ok(claims)
        } else {
            Err(ResetError::InvalidToken)
        }
    }

    /// The user a refresh token logs in, while it is valid: unexpired and
    /// issued under the user's current credential version.
    pub async fn refresh_token_user(&self, raw: &str) -> Result<User, ResetError> {
        let token = BearerSecret::parse(REFRESH_TOKEN_PREFIX, raw.trim())
            .ok_or(ResetError::InvalidToken)?;
        let stored = self
            .store
            .refresh_token(&token.digest())
            .await?
            .filter(|t| t.expires_at > now())
            .ok_or(ResetError::InvalidToken)?;
        self.store
            .user(&stored.user_id)
            .await?
            .filter(|u| !u.disabled && u.credential_version == stored.credential_version)
            .ok_or(ResetError::InvalidToken)
    }

    fn details(&self, user: &User, sequence: u64, change_date: UnixTime) -> ChangeDetails {
        ChangeDetails {
            sequence,
            change_date,
            resource_owner: user.org.clone().unwrap_or_else(|| self.default_org.clone()),
        }
    }

    /// Zitadel PasswordReset: a new code for the user, replacing any earlier
    /// one; returned or mailed. Returns the code only for `ReturnCode`.
    pub async fn issue_code(
        &self,
        user_id: &UserId,
        delivery: CodeDelivery,
        client: &ClientInfo,
    ) -> Result<(ChangeDetails, Option<String>), ResetError> {
        crate::metrics::count(crate::metrics::Metric::ResetsRequested);
        let user = self
            .store
            .user(user_id)
            .await?
            .ok_or(ResetError::UserNotFound)?;
        if user.disabled {
            return Err(ResetError::UserNotFound);
        }
        let code = short_code(self.codes.length);
        let issued_at = now();
        let stored = ResetCode {
            user_id: user.id.clone(),
            digest: self.code_digest(&user.id, &code),
            credential_version: user.credential_version,
            issued_at,
            expires_at: issued_at + self.codes.ttl.as_secs() as i64,
            attempts: 0,
        };
        let org = user.org.clone().unwrap_or_else(|| self.default_org.clone());
        let (mail, returned) = match delivery {
            CodeDelivery::ReturnCode => (None, Some(code.clone())),
            CodeDelivery::SendLink(template) => {
                let template = template.as_ref().unwrap_or(&self.links.code);
                let link = template.render(user.id.as_str(), &code, &org);
                let job =
                    self.reset_mail(&user, link, Some(code.clone()), stored.expires_at, client);
                (Some(job.seal(&self.keys)), None)
            }
        };
        let sequence = self
            .store
            .replace_reset_code(&stored, mail.as_ref())
            .await?;
        tracing::info!(user_id = %user.id, mailed = mail.is_some(), "reset code issued");
        if mail.is_some() {
            self.mail_queued();
        }
        Ok((self.details(&user, sequence, issued_at), returned))
    }

    fn code_digest(&self, user: &UserId, code: &str) -> String {
        hex::encode(
            self.keys
                .sign("reset-code", &[user.as_str().as_bytes(), code.as_bytes()]),
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
        let user = self
            .store
            .user(user_id)
            .await?
            .ok_or(ResetError::UserNotFound)?;
        if user.disabled {
            return Err(ResetError::UserNotFound);
        }
        // The policy first: a weak password must not cost a code attempt.
        let password = self.check_password(raw_password, Some(&user)).await?;
        let action = match &proof {
            PasswordProof::Code(_) => "password_reset_code",
            PasswordProof::CurrentPassword(_) => "password_change",
            PasswordProof::None => "password_set_by_admin",
        };
        let redemption = match proof {
            PasswordProof::Code(code) => self.verify_code(&user, &code, client).await?,
            PasswordProof::CurrentPassword(current) => {
                let current = zeroize::Zeroizing::new(current);
                if !self.verify_password(&user, &current).await? {
                    self.audit_refusal(&user, "password_change", "wrong_current_password", client)
                        .await;
                    return Err(ResetError::WrongCurrentPassword);
                }
                Redemption::Nothing
            }
            PasswordProof::None if key.allows(Scope::UsersAdmin) => Redemption::Nothing,
            PasswordProof::None => return Err(ResetError::VerificationRequired),
        };
        let change = match self
            .set_password(&user, password, redemption.clone(), None, action, client)
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
            .store
            .user(&user.id)
            .await?
            .map_or(user.sequence + 1, |u| u.sequence);
        Ok(self.details(&user, sequence, change.changed_at))
    }

    /// Whether `password` is the user's current password. A match against a
    /// hash that is not argon2id with the configured parameters (an older
    /// cost, or bcrypt / Django pbkdf2_sha256 from an import) upgrades the
    /// stored hash, conditionally on it being unchanged; the upgrade is not
    /// a password change (no new credential version, no mail).
    pub async fn verify_password(&self, user: &User, password: &str) -> Result<bool, ResetError> {
        let Some(hash) = user.password_hash.clone() else {
            return Ok(false);
        };
        let hasher = self.hasher.clone();
        let password = zeroize::Zeroizing::new(password.to_string());
        let (verdict, password) = tokio::task::spawn_blocking(move || {
            let verdict = hasher.verify(&password, &hash);
            (verdict, password)
        })
        .await
        .map_err(|e| ResetError::Internal(e.to_string()))?;
        match verdict {
            Verification::Mismatch => Ok(false),
            Verification::Match {
                needs_rehash: false,
            } => Ok(true),
            Verification::Match { needs_rehash: true } => {
                let upgraded = self
                    .hasher
                    .hash_off_executor(NewPassword::normalize(&password))
                    .await
                    .map_err(|e| ResetError::Internal(e.to_string()))?;
                let old = user.password_hash.as_deref().unwrap_or_default();
                match self
                    .store
                    .update_password_hash(&user.id, old, &upgraded)
                    .await
                {
                    Ok(()) => tracing::info!(user_id = %user.id, "password hash upgraded"),
                    // Changed meanwhile: the newer hash stands.
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => {
                        tracing::warn!(user_id = %user.id, error = %e, "password hash not upgraded")
                    }
                }
                Ok(true)
            }
        }
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
        self.over_limit(
            &format!("code:{}", user.id),
            3600,
            self.limits.code_attempts_per_hour,
        )
        .await?;
        let code = self
            .store
            .reset_code(&user.id)
            .await?
            .ok_or(ResetError::CodeExpired)?;
        if code.credential_version != user.credential_version || code.expires_at <= now() {
            return Err(ResetError::CodeExpired);
        }
        match self
            .store
            .claim_code_attempt(&user.id, code.issued_at, self.codes.max_attempts)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(ResetError::CodeExpired),
            Err(e) => return Err(e.into()),
        }
        let presented = presented.trim().to_ascii_uppercase();
        let expected =
            hex::decode(&code.digest).map_err(|e| ResetError::Internal(e.to_string()))?;
        if !self.keys.verify(
            "reset-code",
            &[user.id.as_str().as_bytes(), presented.as_bytes()],
            &expected,
        ) {
            tracing::info!(user_id = %user.id, attempt = code.attempts + 1, "wrong reset code");
            self.audit_refusal(user, "password_reset_code", "code_mismatch", client)
                .await;
            return Err(ResetError::CodeMismatch);
        }
        Ok(Redemption::Code {
            issued_at: code.issued_at,
        })
    }

    /// The signature of a reset link for `user` at `timestamp`: bound to the
    /// user's credential version, so any password change voids it.
    pub fn link_signature(&self, user: &User, timestamp: i64) -> String {
        use base64::Engine;
        let tag = self.keys.sign(
            "signed-reset-link",
            &Self::signed_parts(user, timestamp)
                .each_ref()
                .map(|p| p.as_slice()),
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    fn signed_parts(user: &User, timestamp: i64) -> [Vec<u8>; 4] {
        [
            SIGNED_LINK_TAG.to_vec(),
            user.id.as_str().as_bytes().to_vec(),
            timestamp.to_be_bytes().to_vec(),
            user.credential_version.0.to_be_bytes().to_vec(),
        ]
    }

    /// django-rest-registration: mails a signed link when the address has an
    /// active account.
    pub async fn send_signed_link(
        &self,
        email: &EmailAddress,
        client: &ClientInfo,
    ) -> Result<(), ResetError> {
        let Some(user) = self.active_account(email, "signed link").await? else {
            return self.decoy().await;
        };
        let timestamp = now();
        let signature = self.link_signature(&user, timestamp);
        let link = self.links.signed.render(&[
            ("user_id", user.id.as_str()),
            ("timestamp", &timestamp.to_string()),
            ("signature", &signature),
        ]);
        let expires_at = timestamp + self.signed_links.ttl.as_secs() as i64;
        let mail = self
            .reset_mail(&user, link, None, expires_at, client)
            .seal(&self.keys);
        self.store.enqueue_mail(&mail).await?;
        tracing::info!(user_id = %user.id, outbox_id = %mail.id, "signed reset link issued");
        self.mail_queued();
        Ok(())
    }

    /// Checks a signed link: the signature first (so nothing is said about a
    /// forged link's age), then its age and clock skew.
    pub async fn inspect_signed_link(
        &self,
        user_id: &str,
        timestamp: i64,
        signature: &str,
    ) -> Result<User, ResetError> {
        use base64::Engine;
        let user = match UserId::parse(user_id) {
            Some(id) => self.store.user(&id).await?,
            None => None,
        }
        .filter(|u| !u.disabled)
        .ok_or(ResetError::InvalidSignature)?;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature.trim())
            .map_err(|_| ResetError::InvalidSignature)?;
        let parts = Self::signed_parts(&user, timestamp);
        if !self.keys.verify(
            "signed-reset-link",
            &parts.each_ref().map(|p| p.as_slice()),
            &tag,
        ) {
            return Err(ResetError::InvalidSignature);
        }
        // Saturating: a signed timestamp at either end of i64 must not
        // overflow (only the server signs, but the check must hold anyway).
        let age = now().saturating_sub(timestamp);
        if age > self.signed_links.ttl.as_secs() as i64 {
            return Err(ResetError::SignatureExpired);
        }
        if age.saturating_neg() > self.signed_links.max_skew.as_secs() as i64 {
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

    fn password_change(
        &self,
        user: &User,
        new_hash: String,
        session: Option<RefreshToken>,
        action: &'static str,
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
            locale: user.locale.clone(),
            accept_language: client.accept_language.clone(),
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
            session,
            audit: self.audit_event(user, action, "success", client),
        }
    }

    fn audit_event(
        &self,
        user: &User,
        action: &str,
        outcome: &str,
        client: &ClientInfo,
    ) -> AuditEvent {
        let at = now();
        AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id.clone(),
            action: action.to_string(),
            outcome: outcome.to_string(),
            at,
            source_ip: client.source_ip.clone(),
            user_agent: client.user_agent.clone(),
            expires_at: at + self.limits.audit_retention.as_secs() as i64,
        }
    }

    /// Records a refusal against a known account; an audit outage must not
    /// turn a 4xx into a 503, so it is only logged.
    async fn audit_refusal(&self, user: &User, action: &str, outcome: &str, client: &ClientInfo) {
        let event = self.audit_event(user, action, outcome, client);
        if let Err(e) = self.store.record_audit(&event).await {
            tracing::warn!(user_id = %user.id, error = %e, "audit event not recorded");
        }
    }
}

/// A password write either fails for a domain reason or loses a race to
/// another write; callers say what the race means for their credential.
enum SetPasswordError {
    Reset(ResetError),
    LostRace,
}

impl From<ResetError> for SetPasswordError {
    fn from(e: ResetError) -> Self {
        SetPasswordError::Reset(e)
    }
}
