//! The mail the flows queue, sealed for the outbox.

use crate::domain::{ClientInfo, OutboxItem, UnixTime, User, now};
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
    pub(super) fn reset_mail(
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
            requested_at: now(),
            expires_at,
            source_ip: client.source_ip.clone(),
        };
        addressed(user, client, message).seal(&self.config.keys)
    }

    /// The notice that the password changed, sealed.
    pub(super) fn password_changed_mail(
        &self,
        user: &User,
        changed_at: UnixTime,
        client: &ClientInfo,
    ) -> OutboxItem {
        let message = MailMessage::PasswordChanged {
            changed_at,
            source_ip: client.source_ip.clone(),
            sign_out_pending: false,
        };
        addressed(user, client, message).seal(&self.config.keys)
    }

    /// The "password changed" notice of a change whose directory sign-out
    /// failed: delivering it retries the sign-out first.
    pub(super) fn sign_out_notice(
        &self,
        user: &User,
        changed_at: UnixTime,
        client: &ClientInfo,
    ) -> OutboxItem {
        let message = MailMessage::PasswordChanged {
            changed_at,
            source_ip: client.source_ip.clone(),
            sign_out_pending: true,
        };
        addressed(user, client, message).seal(&self.config.keys)
    }
}
