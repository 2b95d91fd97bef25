//! The reset domain: accounts, API keys, reset grants and queued mail.

use serde::{Deserialize, Serialize};

use crate::crypto::{BearerSecret, LINK_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, SecretDigest};

mod phone;
pub use phone::{CallingCode, PhoneNumber};

/// Seconds since the Unix epoch; the store's one time unit.
pub type UnixTime = i64;

pub fn now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// When something issued at `issued_at` with a lifetime of `ttl` expires.
pub fn expiry(issued_at: UnixTime, ttl: std::time::Duration) -> UnixTime {
    issued_at + ttl.as_secs() as i64
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
    /// Ids are opaque but bounded: printable ASCII without separators.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
        ok.then(|| Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed and lower-cased: the account lookup key.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// A deliberately plain check: one `@`, a non-empty local part, a dotted
    /// domain, no spaces or control characters, at most 254 bytes.
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim().to_lowercase();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = s.split_once('@')?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        ok.then_some(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `a***@example.com`: enough for an operator's console, never a log.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

// An address is personal data: debug output shows only the masked form.
impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

/// Incremented on every password change; every token, code, signature and
/// refresh token records the version it was issued under and dies with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CredentialVersion(pub u64);

impl CredentialVersion {
    pub fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: EmailAddress,
    pub name: Option<String>,
    pub org: Option<String>,
    pub locale: Option<String>,
    /// argon2id PHC string; None for an account that never set a password.
    pub password_hash: Option<String>,
    pub credential_version: CredentialVersion,
    /// Earlier hashes, newest first, when the policy keeps a history.
    pub password_history: Vec<String>,
    pub disabled: bool,
    pub created_at: UnixTime,
    /// Counts changes to the account (codes issued, passwords set): Zitadel's
    /// `details.sequence`.
    pub sequence: u64,
    pub changed_at: UnixTime,
    /// The number reset codes may be texted to, and whether it was
    /// verified: only a verified number is ever texted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    #[serde(default)]
    pub phone_verified: bool,
}

impl User {
    pub fn new(id: UserId, email: EmailAddress) -> Self {
        Self {
            id,
            email,
            name: None,
            org: None,
            locale: None,
            password_hash: None,
            credential_version: CredentialVersion(0),
            password_history: Vec::new(),
            disabled: false,
            created_at: now(),
            sequence: 0,
            changed_at: now(),
            phone: None,
            phone_verified: false,
        }
    }

    /// The number a code may be texted to: set and verified.
    pub fn verified_phone(&self) -> Option<&PhoneNumber> {
        self.phone.as_ref().filter(|_| self.phone_verified)
    }

    /// Display name for a greeting: the name, else the address's local part.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_string()
        })
    }
}

/// What an API key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Scope {
    #[serde(rename = "reset:request")]
    ResetRequest,
    #[serde(rename = "users:write")]
    UsersWrite,
    #[serde(rename = "users:admin")]
    UsersAdmin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::ResetRequest, Scope::UsersWrite, Scope::UsersAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ResetRequest => "reset:request",
            Scope::UsersWrite => "users:write",
            Scope::UsersAdmin => "users:admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|sc| sc.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown scope {s:?}: expected one of {}",
                    Scope::ALL.map(Scope::as_str).join(", ")
                )
            })
    }
}

/// The organisations an API key acts for: a partner's key reaches only the
/// users of its own organisation, an operator's key every organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrgBinding {
    /// The configured default organisation (`REKEY_DEFAULT_ORG`). Keys
    /// stored before keys had a binding read as this: the narrowest
    /// binding that keeps a single-tenant deployment working.
    #[default]
    DefaultOrg,
    Org(String),
    AllOrgs,
}

impl OrgBinding {
    /// How the stores write the binding: absent for the default
    /// organisation, `*` for all, else the organisation's name.
    pub const ALL_ORGS: &'static str = "*";

    pub fn stored(&self) -> Option<&str> {
        match self {
            OrgBinding::DefaultOrg => None,
            OrgBinding::Org(org) => Some(org),
            OrgBinding::AllOrgs => Some(Self::ALL_ORGS),
        }
    }

    pub fn from_stored(raw: Option<&str>) -> Self {
        match raw {
            None => OrgBinding::DefaultOrg,
            Some(Self::ALL_ORGS) => OrgBinding::AllOrgs,
            Some(org) => OrgBinding::Org(org.to_string()),
        }
    }

    /// Whether a key with this binding may act on a user of `org`, where
    /// `default_org` is the deployment's default organisation.
    pub fn reaches(&self, org: &str, default_org: &str) -> bool {
        match self {
            OrgBinding::DefaultOrg => org == default_org,
            OrgBinding::Org(bound) => org == bound,
            OrgBinding::AllOrgs => true,
        }
    }
}

/// An API key as stored: only the digest of the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub digest: SecretDigest,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: UnixTime,
    pub revoked: bool,
    #[serde(default)]
    pub org: OrgBinding,
}

impl ApiKey {
    pub fn allows(&self, scope: Scope) -> bool {
        !self.revoked && self.scopes.contains(&scope)
    }
}

/// What a grant was issued for: each is redeemed by its own route only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantPurpose {
    /// A reset link (Payabli, Unleash): sets a password.
    ResetLink,
    /// Account recovery: sets a password and logs the user in.
    AccountRecovery,
    /// The server-side nonce of a signed link (django-rest-registration).
    SignedLink,
}

impl GrantPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantPurpose::ResetLink => "reset_link",
            GrantPurpose::AccountRecovery => "account_recovery",
            GrantPurpose::SignedLink => "signed_link",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            GrantPurpose::ResetLink,
            GrantPurpose::AccountRecovery,
            GrantPurpose::SignedLink,
        ]
        .into_iter()
        .find(|p| p.as_str() == raw)
    }
}

/// A single-use permission to set a user's password, redeemed with the link
/// token whose digest keys it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetGrant {
    pub digest: SecretDigest,
    pub user_id: UserId,
    /// The user's version when issued: a later password change voids it.
    pub credential_version: CredentialVersion,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    /// None on grants written before grants had a purpose: a reset link
    /// or a recovery, redeemable by either route.
    #[serde(default)]
    pub purpose: Option<GrantPurpose>,
    /// The origin of the link the token was mailed in (`https://host`);
    /// None when unknown (grants written before), then not checked.
    #[serde(default)]
    pub origin: Option<String>,
}

impl ResetGrant {
    /// A fresh link token and the unused grant it redeems, issued now under
    /// the user's `credential_version`, for `purpose`, to be mailed in a
    /// link at `origin`. The token is returned for the mail only; the grant
    /// keeps its digest.
    pub fn issue(
        user_id: UserId,
        credential_version: CredentialVersion,
        ttl: std::time::Duration,
        purpose: GrantPurpose,
        origin: String,
    ) -> (BearerSecret, Self) {
        let token = BearerSecret::generate(LINK_TOKEN_PREFIX);
        let issued_at = now();
        let grant = Self {
            digest: token.digest(),
            user_id,
            credential_version,
            issued_at,
            expires_at: expiry(issued_at, ttl),
            used_at: None,
            purpose: Some(purpose),
            origin: Some(origin),
        };
        (token, grant)
    }

    /// Whether a route redeeming `purpose` may redeem this grant.
    pub fn serves(&self, purpose: GrantPurpose) -> bool {
        match self.purpose {
            Some(p) => p == purpose,
            None => purpose != GrantPurpose::SignedLink,
        }
    }

    pub fn is_expired(&self, at: UnixTime) -> bool {
        at >= self.expires_at
    }
}

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

/// Mail waiting in the transactional outbox. Everything about the message,
/// recipient and link included, is sealed: the table holds no token in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: String,
    pub sealed: String,
    pub created_at: UnixTime,
}

/// A request for an address, waiting for delivery: what the address
/// endpoints write, the same for every address. Sealed and padded to one
/// size, so neither its contents nor its length say which address it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeItem {
    pub id: String,
    pub sealed: String,
    pub created_at: UnixTime,
}

/// A short reset code (Zitadel), one per user: a new one replaces the old.
/// Stored as a keyed digest, never in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetCode {
    pub user_id: UserId,
    /// Hex HMAC of the code under a key derived from the service secret.
    pub digest: String,
    pub credential_version: CredentialVersion,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// Verification attempts claimed so far (see `Store::claim_code_attempt`).
    pub attempts: u32,
}

impl ResetCode {
    /// A code issued now under the user's `credential_version`, no attempt
    /// claimed yet. `digest` is the keyed digest of the code shown to the user.
    pub fn issue(
        user_id: UserId,
        digest: String,
        credential_version: CredentialVersion,
        ttl: std::time::Duration,
    ) -> Self {
        let issued_at = now();
        Self {
            user_id,
            digest,
            credential_version,
            issued_at,
            expires_at: expiry(issued_at, ttl),
            attempts: 0,
        }
    }
}

/// A refresh token, stored by digest. It dies with the credential version
/// it was issued under. Tokens form families: a log-in starts one, and each
/// rotation adds the successor to it, so a token presented again after its
/// rotation revokes every token of its family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub digest: SecretDigest,
    pub user_id: UserId,
    pub credential_version: CredentialVersion,
    pub client_id: String,
    pub scope: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// The family's id (a random UUID); tokens from before families are
    /// each a family of their own, named by their digest.
    pub family: String,
    /// When it was rotated; a used token is never accepted again.
    pub used_at: Option<UnixTime>,
}

impl RefreshToken {
    /// A fresh refresh token and its record, starting a family, issued at
    /// `issued_at` for the credential version the user will have once the
    /// change lands.
    pub fn issue(
        user_id: UserId,
        credential_version: CredentialVersion,
        client_id: String,
        scope: String,
        issued_at: UnixTime,
        ttl: std::time::Duration,
    ) -> (BearerSecret, Self) {
        let family = uuid::Uuid::new_v4().to_string();
        Self::issue_in(
            family,
            user_id,
            credential_version,
            client_id,
            scope,
            issued_at,
            ttl,
        )
    }

    /// The token that replaces this one on rotation: same family, user,
    /// version and client, `scope` (at most this one's), a fresh lifetime.
    pub fn successor(
        &self,
        scope: String,
        issued_at: UnixTime,
        ttl: std::time::Duration,
    ) -> (BearerSecret, Self) {
        Self::issue_in(
            self.family.clone(),
            self.user_id.clone(),
            self.credential_version,
            self.client_id.clone(),
            scope,
            issued_at,
            ttl,
        )
    }

    fn issue_in(
        family: String,
        user_id: UserId,
        credential_version: CredentialVersion,
        client_id: String,
        scope: String,
        issued_at: UnixTime,
        ttl: std::time::Duration,
    ) -> (BearerSecret, Self) {
        let token = BearerSecret::generate(REFRESH_TOKEN_PREFIX);
        let stored = Self {
            digest: token.digest(),
            user_id,
            credential_version,
            client_id,
            scope,
            issued_at,
            expires_at: expiry(issued_at, ttl),
            family,
            used_at: None,
        };
        (token, stored)
    }
}

/// The credential a password change consumes, in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// A link token's grant: only if unused and unexpired.
    Grant(SecretDigest),
    /// The user's reset code with this digest, only if still there: a code
    /// replaced within the same second has another digest.
    Code { digest: String },
    /// Nothing stored: signed links, the current password, an admin.
    Nothing,
}

/// What happened to an account, kept for the operator (`rekeyctl audit`)
/// with a retention TTL. Never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub user_id: UserId,
    /// e.g. `password_reset_link`, `password_reset_code`, `password_set`.
    pub action: String,
    /// `success` or a rejection reason.
    pub outcome: String,
    pub at: UnixTime,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: UnixTime,
}

/// A password change: the new hash replaces the old one only if the user's
/// credential version is still `expected`; the notice mail (and, for a
/// log-in, the refresh token) are written in the same transaction.
#[derive(Clone, Debug)]
pub struct PasswordChange {
    pub user_id: UserId,
    pub expected: CredentialVersion,
    pub new_hash: String,
    pub history: Vec<String>,
    pub changed_at: UnixTime,
    pub notice: OutboxItem,
    /// One sealed `password.changed` webhook per endpoint that wants it,
    /// queued with the change.
    pub webhooks: Vec<OutboxItem>,
    pub session: Option<RefreshToken>,
    pub audit: AuditEvent,
}
