//! Reset codes by text message: who may be texted and the sealed text the
//! code flow queues (the limits are the `Limiter`'s).

use crate::domain::{ClientInfo, OutboxItem, PhoneNumber, UnixTime, User};
use crate::sms::TextJob;

use super::{ResetError, ResetService};

impl ResetService {
    /// The number a code for `user` may be texted to, counted against the
    /// limits: texts enabled, a verified number, an allowed country, the
    /// number's limits and the deployment's hourly ceiling.
    pub(super) async fn text_destination(&self, user: &User) -> Result<PhoneNumber, ResetError> {
        let sms = &self.config.sms;
        if sms.calling_codes.is_empty() {
            return Err(ResetError::NotConfigured("SMS delivery"));
        }
        let phone = user.verified_phone().ok_or(ResetError::NoVerifiedPhone)?;
        if !phone.in_any(&sms.calling_codes) {
            tracing::info!(user_id = %user.id, "text refused: country calling code not enabled");
            return Err(ResetError::PhoneCountryNotAllowed);
        }
        self.limiter.limit_text_to(phone, sms).await?;
        Ok(phone.clone())
    }

    /// A text with the code (and the link, if any), sealed for the outbox.
    pub(super) fn reset_text(
        &self,
        user: &User,
        to: PhoneNumber,
        code: String,
        link: Option<String>,
        expires_at: UnixTime,
        client: &ClientInfo,
    ) -> OutboxItem {
        let now = self.clock.now();
        TextJob {
            to,
            user_id: user.id.clone(),
            locale: user.locale.clone(),
            accept_language: client.accept_language.clone(),
            code,
            link,
            requested_at: now,
            expires_at,
        }
        .seal(&self.config.keys, now)
    }
}
