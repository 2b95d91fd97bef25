//! Who made a request.

use serde::{Deserialize, Serialize};

/// Who made a request, for audit and the "password changed" mail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The `Accept-Language` header: the mail's language when the account
    /// has no stored locale.
    #[serde(default)]
    pub accept_language: Option<String>,
    /// The `Origin` header: where a browser's request comes from.
    #[serde(default)]
    pub origin: Option<String>,
    /// The host (and port) the request was sent to: the service's own
    /// origin, for the hosted pages.
    #[serde(default)]
    pub host: Option<String>,
}
