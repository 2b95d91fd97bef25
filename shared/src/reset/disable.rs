//! Disabling an account: `rekeyctl user disable`, reported to the webhook
//! endpoints that want `account.disabled` in the same write.

use crate::domain::User;
use crate::store::StoreError;
use crate::webhook::WebhookEvent;

use super::{ResetError, ResetService};

impl ResetService {
    /// Disables `user` (which voids every outstanding link, code and
    /// session) and queues its `account.disabled` webhooks with it. False
    /// when the account was disabled already: then nothing is queued.
    pub async fn disable_account(&self, user: &User) -> Result<bool, ResetError> {
        let event = WebhookEvent::account_disabled(user, self.clock.now());
        let notices = self.config.webhooks.queue(&event, &self.config.keys);
        match self.accounts.disable_user(&user.id, &notices).await {
            Ok(()) => {
                tracing::info!(user_id = %user.id, webhooks = notices.len(), "account disabled");
                if !notices.is_empty() {
                    self.mail_queued();
                }
                Ok(true)
            }
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
