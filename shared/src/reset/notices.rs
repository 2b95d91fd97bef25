//! The mail the flows queue, sealed for the outbox.

use crate::domain::{ClientInfo, OutboxItem, UnixTime, User};
use crate::mail::{MailJob, MailMessage};

use super::ResetService;

/// `message` addressed to `user`, in the user's locale or else the
/// requester's language.
fn addressed(user: &User, client: &ClientInfo, message: MailMessage) -> MailJob {
    MailJob {
        to: user.email.as_str().to_string(),
        user_id: user.id.clone(),
        name: user.display_name(),
        locale: user.locale.clone(),
        accept_language: client.accept_language.clone(),
        message,
    }
}

impl ResetService {
    /// A reset link (with Zitadel's code beside it, if any), sealed.
    pub(crate) fn reset_mail(
        &self,
        user: &User,
        link: String,
        code: Option<String>,
        expires_at: UnixTime,
        client: &ClientInfo,
    ) -> OutboxItem {
        let message = MailMessage::ResetLink {
            link,
            code,
            requested_at: self.clock.now(),
            expires_at,
            source_ip: client.source_ip.clone(),
        };
        addressed(user, client, message).seal(&self.config.keys, self.clock.now())
    }

    /// The notice that the password changed, sealed; `sign_out_pending`
    /// when the directory's sign-out failed, so delivering the notice
    /// retries the sign-out first.
    pub(super) fn password_changed_mail(
        &self,
        user: &User,
        changed_at: UnixTime,
        client: &ClientInfo,
        sign_out_pending: bool,
    ) -> OutboxItem {
        let message = MailMessage::PasswordChanged {
            changed_at,
            source_ip: client.source_ip.clone(),
            sign_out_pending,
        };
        addressed(user, client, message).seal(&self.config.keys, self.clock.now())
    }
}
