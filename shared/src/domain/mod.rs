//! The reset domain: accounts, API keys, grants, codes, refresh tokens,
//! the queued items and the audit trail. One type (or one type and the
//! small values it owns) per file.

mod api_key;
mod audit;
mod caller;
mod credential_version;
mod email;
mod grant;
mod password_change;
mod queue;
mod refresh_token;
mod reset_code;
mod time;
mod user;
mod user_id;

pub use api_key::{ApiKey, OrgBinding, Scope};
pub use audit::AuditEvent;
pub use caller::ClientInfo;
pub use credential_version::CredentialVersion;
pub use email::EmailAddress;
pub use grant::{GrantPurpose, Redemption, ResetGrant};
pub use password_change::{ChangeClaim, PasswordChange};
pub use queue::{IntakeItem, OutboxItem};
pub use refresh_token::RefreshToken;
pub use reset_code::ResetCode;
pub use time::UnixTime;
pub use user::User;
pub use user_id::UserId;
