//! A `Store` that records which role method each call was, and the sizes
//! of what it writes, then hands the call to a real store: what a function
//! reaches, as data.

use std::sync::{Arc, Mutex};

use crate::iam::{Redeeming, StoreMethod};
use async_trait::async_trait;
use rekey::crypto::SecretDigest;
use rekey::domain::{
    ApiKey, AuditEvent, ChangeClaim, EmailAddress, IntakeItem, OutboxItem, PasswordChange,
    Redemption, RefreshToken, ResetCode, ResetGrant, UnixTime, User, UserId,
};
use rekey::store::dynamo::records::IntakeRecord;
use rekey::store::{
    AccountStore, ApiKeyStore, AuditStore, CounterStore, CredentialStore, IntakeStore, OutboxStore,
    Store, StoreError,
};

/// One recorded call: the method, and for `change_password` what it
/// redeemed.
pub type Call = (StoreMethod, Option<Redeeming>);

/// One recorded call with the sizes of what it wrote: for a counter its
/// key, for an intake item each attribute of its DynamoDB record (the
/// embedded row holds the same id, sealed text and time).
pub type SizedCall = (Call, Vec<usize>);

pub struct RecordingStore {
    inner: Arc<dyn Store>,
    calls: Arc<Mutex<Vec<SizedCall>>>,
}

impl RecordingStore {
    pub fn new(inner: impl Store + 'static) -> Self {
        Self::over(Arc::new(inner))
    }

    pub fn over(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            calls: Arc::default(),
        }
    }

    /// The calls since the last `take`, in order.
    pub fn take(&self) -> Vec<Call> {
        self.take_sized().into_iter().map(|(c, _)| c).collect()
    }

    /// As `take`, with the sizes of what each call wrote.
    pub fn take_sized(&self) -> Vec<SizedCall> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn saw(&self, method: StoreMethod) -> &dyn Store {
        self.saw_sized((method, None), Vec::new())
    }

    fn saw_call(&self, call: Call) -> &dyn Store {
        self.saw_sized(call, Vec::new())
    }

    fn saw_sized(&self, call: Call, sizes: Vec<usize>) -> &dyn Store {
        self.calls.lock().unwrap().push((call, sizes));
        &*self.inner
    }
}

#[async_trait]
impl AccountStore for RecordingStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        self.saw(StoreMethod::InsertUser).insert_user(user).await
    }
    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.saw(StoreMethod::User).user(id).await
    }
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        self.saw(StoreMethod::UserByEmail)
            .user_by_email(email)
            .await
    }
    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.saw(StoreMethod::Users).users().await
    }
    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<(), StoreError> {
        self.saw(StoreMethod::SetUserDisabled)
            .set_user_disabled(id, disabled)
            .await
    }
    async fn disable_user(
        &self,
        id: &UserId,
        notices: &[rekey::domain::OutboxItem],
    ) -> Result<(), StoreError> {
        self.saw(StoreMethod::SetUserDisabled)
            .disable_user(id, notices)
            .await
    }
    async fn update_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<(), StoreError> {
        self.saw(StoreMethod::UpdatePasswordHash)
            .update_password_hash(id, expected, new_hash)
            .await
    }
    async fn claim_password_change(&self, claim: &ChangeClaim) -> Result<(), StoreError> {
        self.saw(StoreMethod::ClaimPasswordChange)
            .claim_password_change(claim)
            .await
    }
    async fn release_password_change(&self, id: &UserId, holder: &str) -> Result<(), StoreError> {
        self.saw(StoreMethod::ReleasePasswordChange)
            .release_password_change(id, holder)
            .await
    }
}

#[async_trait]
impl ApiKeyStore for RecordingStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.saw(StoreMethod::InsertApiKey)
            .insert_api_key(key)
            .await
    }
    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError> {
        self.saw(StoreMethod::ApiKey).api_key(digest).await
    }
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.saw(StoreMethod::ApiKeys).api_keys().await
    }
    async fn revoke_api_key(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        self.saw(StoreMethod::RevokeApiKey)
            .revoke_api_key(digest)
            .await
    }
}

#[async_trait]
impl CredentialStore for RecordingStore {
    async fn insert_grant(&self, grant: &ResetGrant, mail: &OutboxItem) -> Result<(), StoreError> {
        self.saw(StoreMethod::InsertGrant)
            .insert_grant(grant, mail)
            .await
    }
    async fn grant(&self, digest: &SecretDigest) -> Result<Option<ResetGrant>, StoreError> {
        self.saw(StoreMethod::Grant).grant(digest).await
    }
    async fn change_password(
        &self,
        change: &PasswordChange,
        redemption: &Redemption,
    ) -> Result<(), StoreError> {
        self.saw_call((StoreMethod::ChangePassword, Some(redemption.into())))
            .change_password(change, redemption)
            .await
    }
    async fn replace_reset_code(
        &self,
        code: &ResetCode,
        mail: Option<&OutboxItem>,
    ) -> Result<u64, StoreError> {
        self.saw(StoreMethod::ReplaceResetCode)
            .replace_reset_code(code, mail)
            .await
    }
    async fn reset_code(&self, user: &UserId) -> Result<Option<ResetCode>, StoreError> {
        self.saw(StoreMethod::ResetCode).reset_code(user).await
    }
    async fn claim_code_attempt(&self, code: &ResetCode, max: u32) -> Result<(), StoreError> {
        self.saw(StoreMethod::ClaimCodeAttempt)
            .claim_code_attempt(code, max)
            .await
    }
    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<RefreshToken>, StoreError> {
        self.saw(StoreMethod::RefreshToken)
            .refresh_token(digest)
            .await
    }
    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError> {
        self.saw(StoreMethod::InsertRefreshToken)
            .insert_refresh_token(token)
            .await
    }
    async fn rotate_refresh_token(
        &self,
        presented: &RefreshToken,
        successor: &RefreshToken,
    ) -> Result<(), StoreError> {
        self.saw(StoreMethod::RotateRefreshToken)
            .rotate_refresh_token(presented, successor)
            .await
    }
    async fn revoke_refresh_family(
        &self,
        family: &str,
        at: UnixTime,
        until: UnixTime,
    ) -> Result<(), StoreError> {
        self.saw(StoreMethod::RevokeRefreshFamily)
            .revoke_refresh_family(family, at, until)
            .await
    }
}

#[async_trait]
impl CounterStore for RecordingStore {
    async fn count_hit(
        &self,
        key: &str,
        window_start: UnixTime,
        expires_at: UnixTime,
    ) -> Result<u64, StoreError> {
        self.saw_sized((StoreMethod::CountHit, None), vec![key.len()])
            .count_hit(key, window_start, expires_at)
            .await
    }
}

#[async_trait]
impl AuditStore for RecordingStore {
    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.saw(StoreMethod::RecordAudit).record_audit(event).await
    }
    async fn audit_events(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.saw(StoreMethod::AuditEvents)
            .audit_events(user, limit)
            .await
    }
}

#[async_trait]
impl OutboxStore for RecordingStore {
    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError> {
        self.saw(StoreMethod::EnqueueMail).enqueue_mail(mail).await
    }
    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        self.saw(StoreMethod::PendingMail).pending_mail(limit).await
    }
    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError> {
        self.saw(StoreMethod::MailPending).mail_pending(id).await
    }
    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError> {
        self.saw(StoreMethod::MailDelivered)
            .mail_delivered(id)
            .await
    }
}

#[async_trait]
impl IntakeStore for RecordingStore {
    async fn enqueue_intake(&self, item: &IntakeItem) -> Result<(), StoreError> {
        let r = IntakeRecord::from(item);
        let sizes = vec![
            r.pk.len(),
            r.sk.len(),
            r.id.len(),
            r.sealed.len(),
            r.created_at.to_string().len(),
            r.ttl.to_string().len(),
        ];
        self.saw_sized((StoreMethod::EnqueueIntake, None), sizes)
            .enqueue_intake(item)
            .await
    }
    async fn pending_intake(&self, limit: usize) -> Result<Vec<IntakeItem>, StoreError> {
        self.saw(StoreMethod::PendingIntake)
            .pending_intake(limit)
            .await
    }
    async fn intake_pending(&self, id: &str) -> Result<bool, StoreError> {
        self.saw(StoreMethod::IntakePending)
            .intake_pending(id)
            .await
    }
    async fn complete_intake(
        &self,
        id: &str,
        link: Option<(&ResetGrant, &OutboxItem)>,
    ) -> Result<(), StoreError> {
        self.saw(StoreMethod::CompleteIntake)
            .complete_intake(id, link)
            .await
    }
}
