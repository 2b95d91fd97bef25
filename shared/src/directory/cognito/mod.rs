//! An Amazon Cognito user pool as the directory: accounts are looked up in
//! the pool, new passwords are set there and every session of the user is
//! signed out. rekey's table keeps, per pool user, a record keyed by the
//! pool's `sub` holding the credential version (and sequence): every
//! grant, code, signed link and refresh token binds to it as for rekey's
//! own accounts. That record never holds the pool's address or a hash: its
//! address is `<sub>@cognito.invalid`, so it never collides with another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, UserStatusType};
use secrecy::SecretString;

use super::{Directory, DirectoryError, DirectorySession};
use crate::clock::{Clock, SystemClock};
use crate::config::CLIENT_ID_VAR;
use crate::domain::{EmailAddress, User, UserId};
use crate::password::NewPassword;
use crate::store::{Store, StoreError};

mod errors;

use errors::{CognitoFailure, Failure, classify, filter_value};

/// The domain of the placeholder address of a pool user's record.
const RECORD_DOMAIN: &str = "cognito.invalid";

/// A pool user as the pool describes it.
struct PoolUser {
    username: String,
    sub: String,
    email: Option<String>,
    name: Option<String>,
    locale: Option<String>,
    phone: Option<crate::domain::PhoneNumber>,
    phone_verified: bool,
    enabled: bool,
    confirmed: bool,
    /// `email_verified` is "true": any user can set their own `email`
    /// (unverified) unless the pool forbids it.
    email_verified: bool,
}

impl PoolUser {
    fn new(
        username: &str,
        attributes: &[AttributeType],
        enabled: bool,
        status: Option<&UserStatusType>,
    ) -> Self {
        let attr = |name: &str| {
            attributes
                .iter()
                .find(|a| a.name() == name)
                .and_then(|a| a.value())
                .map(str::to_string)
        };
        let name = attr("name").or_else(|| {
            let parts: Vec<String> = [attr("given_name"), attr("family_name")]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
        Self {
            username: username.to_string(),
            sub: attr("sub").unwrap_or_else(|| username.to_string()),
            email: attr("email"),
            name,
            locale: attr("locale"),
            // Only Cognito's own "true" counts: a number the user changed
            // is unverified until confirmed (see docs/deploy.md).
            phone: attr("phone_number").and_then(|p| crate::domain::PhoneNumber::parse(&p)),
            phone_verified: attr("phone_number_verified").as_deref() == Some("true"),
            enabled,
            confirmed: status == Some(&UserStatusType::Confirmed),
            email_verified: attr("email_verified").as_deref() == Some("true"),
        }
    }

    /// Counts for its address: enabled, confirmed, and the address
    /// verified, so a user who writes someone else's address into their own
    /// attribute neither shares it (silencing the owner) nor gets its mail.
    fn active(&self) -> bool {
        self.enabled && self.confirmed && self.email_verified
    }
}

pub struct CognitoPool {
    client: Client,
    pool_id: String,
    client_id: Option<String>,
    store: Arc<dyn Store>,
    /// `sub` -> username, filled by every look-up: the Admin* calls take
    /// the username, and a flow always looks its user up first.
    usernames: Mutex<HashMap<String, String>>,
}

impl CognitoPool {
    pub fn new(
        client: Client,
        pool_id: String,
        client_id: Option<String>,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            client,
            pool_id,
            client_id,
            store,
            usernames: Mutex::new(HashMap::new()),
        }
    }

    /// A client on `sdk` (`aws::environment_sdk_config("COGNITO_IDENTITY_PROVIDER")`
    /// in a Lambda, `aws::sdk_config()` in rekeyctl).
    pub fn from_sdk_config(
        sdk: &aws_config::SdkConfig,
        pool_id: String,
        client_id: Option<String>,
        store: Arc<dyn Store>,
    ) -> Self {
        Self::new(Client::new(sdk), pool_id, client_id, store)
    }

    async fn list(&self, filter: String) -> Result<Vec<PoolUser>, DirectoryError> {
        let out = self
            .client
            .list_users()
            .user_pool_id(&self.pool_id)
            .filter(filter)
            .limit(60)
            .send()
            .await
            .map_err(|e| classify("ListUsers", e))?;
        Ok(out
            .users()
            .iter()
            .filter_map(|u| {
                Some(PoolUser::new(
                    u.username()?,
                    u.attributes(),
                    u.enabled(),
                    u.user_status(),
                ))
            })
            .collect())
    }

    /// By `sub` first (what rekey's records are keyed by), then as a username.
    async fn find(&self, id: &UserId) -> Result<Option<PoolUser>, DirectoryError> {
        let by_sub = self
            .list(format!("sub = \"{}\"", filter_value(id.as_str())))
            .await?;
        if let Some(user) = by_sub.into_iter().next() {
            return Ok(Some(user));
        }
        match self
            .client
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(id.as_str())
            .send()
            .await
        {
            Ok(out) => Ok(Some(PoolUser::new(
                out.username(),
                out.user_attributes(),
                out.enabled(),
                out.user_status(),
            ))),
            Err(e) => match classify("AdminGetUser", e) {
                DirectoryError::UserGone => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn username(&self, id: &UserId) -> Result<String, DirectoryError> {
        if let Some(name) = self.known_usernames().get(id.as_str()) {
            return Ok(name.clone());
        }
        // rekey's records are keyed by `sub`: a username look-up that finds
        // another user's `sub` is not this account, and nothing is written.
        self.find(id)
            .await?
            .filter(|u| u.sub == id.as_str())
            .map(|u| self.remember(&u))
            .ok_or(DirectoryError::UserGone)
    }

    fn remember(&self, user: &PoolUser) -> String {
        self.known_usernames()
            .insert(user.sub.clone(), user.username.clone());
        user.username.clone()
    }

    /// The `sub` -> username cache. A panic while it was held leaves it
    /// usable (each entry is written whole), so a poisoned lock is taken.
    fn known_usernames(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.usernames
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// rekey's record of the pool user (created on first sight), with the
    /// pool's address, name and state laid over it. The pool's enabled
    /// flag is mirrored into the record: disabling bumps the credential
    /// version, so a user disabled and re-enabled in the pool gets none of
    /// the old tokens back, provided a look-up saw the user disabled in
    /// between (rekey learns the state only when it looks).
    async fn account(&self, pool: PoolUser) -> Result<Option<User>, DirectoryError> {
        let (Some(id), Some(email)) = (
            UserId::parse(&pool.sub),
            pool.email.as_deref().and_then(EmailAddress::parse),
        ) else {
            tracing::info!(user_sub = %pool.sub, "pool user without a usable id or address");
            return Ok(None);
        };
        self.remember(&pool);
        let mut record = match self.store.user(&id).await? {
            Some(record) => record,
            None => self.insert_record(&id).await?,
        };
        if record.disabled == pool.enabled {
            self.store.set_user_disabled(&id, !pool.enabled).await?;
            record = self
                .store
                .user(&id)
                .await?
                .ok_or(StoreError::Conflict("record vanished"))?;
        }
        Ok(Some(User {
            email,
            name: pool.name.or(record.name),
            locale: pool.locale.or(record.locale),
            password_hash: None,
            password_history: Vec::new(),
            disabled: record.disabled || !pool.confirmed,
            // The pool's number, never the record's: the pool owns it.
            phone_verified: pool.phone.is_some() && pool.phone_verified,
            phone: pool.phone,
            ..record
        }))
    }

    async fn insert_record(&self, id: &UserId) -> Result<User, DirectoryError> {
        let address =
            EmailAddress::parse(&format!("{}@{RECORD_DOMAIN}", id.as_str())).ok_or_else(|| {
                DirectoryError::Internal(Box::new(crate::error::Invariant(
                    "the placeholder address of a pool user's record",
                )))
            })?;
        // A record of the pool's, made by this adapter when it first sees
        // the user: stamped with the system's time.
        let record = User::new(id.clone(), address, SystemClock.now());
        match self.store.insert_user(&record).await {
            Ok(()) => Ok(record),
            // Created by a concurrent look-up: read what it wrote.
            Err(StoreError::Conflict(_)) => Ok(self
                .store
                .user(id)
                .await?
                .ok_or(StoreError::Conflict("record vanished"))?),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl Directory for CognitoPool {
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, DirectoryError> {
        let found = self
            .list(format!("email = \"{}\"", filter_value(email.as_str())))
            .await?;
        let total = found.len();
        let mut active: Vec<PoolUser> = found.into_iter().filter(PoolUser::active).collect();
        match active.len() {
            0 => {
                if total > 0 {
                    tracing::info!(
                        matches = total,
                        "address has no enabled, confirmed pool user"
                    );
                }
                Ok(None)
            }
            1 => self.account(active.remove(0)).await,
            n => {
                let subs: Vec<&str> = active.iter().map(|u| u.sub.as_str()).collect();
                tracing::warn!(
                    matches = n,
                    user_subs = ?subs,
                    "several pool users share an address: none counts as its account"
                );
                Ok(None)
            }
        }
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, DirectoryError> {
        match self.find(id).await? {
            Some(pool) => self.account(pool).await,
            None => Ok(None),
        }
    }

    fn keeps_passwords(&self) -> bool {
        true
    }

    async fn set_password(
        &self,
        user: &User,
        password: &NewPassword,
    ) -> Result<(), DirectoryError> {
        let username = self.username(&user.id).await?;
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(password.expose())
            .permanent(true)
            .send()
            .await
            .map_err(|e| classify("AdminSetUserPassword", e))?;
        Ok(())
    }

    async fn sign_out(&self, user: &UserId) -> Result<(), DirectoryError> {
        let username = self.username(user).await?;
        self.client
            .admin_user_global_sign_out()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
            .map_err(|e| classify("AdminUserGlobalSignOut", e))?;
        Ok(())
    }

    fn can_sign_in(&self) -> Result<(), DirectoryError> {
        self.client_id
            .as_ref()
            .map(|_| ())
            .ok_or(DirectoryError::NotConfigured(CLIENT_ID_VAR))
    }

    async fn sign_in(
        &self,
        user: &User,
        password: &NewPassword,
    ) -> Result<Option<DirectorySession>, DirectoryError> {
        let client_id = self
            .client_id
            .clone()
            .ok_or(DirectoryError::NotConfigured(CLIENT_ID_VAR))?;
        let username = self.username(&user.id).await?;
        let out = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.pool_id)
            .client_id(&client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password.expose())
            .send()
            .await
            .map_err(|e| classify("AdminInitiateAuth", e))?;
        let result = out.authentication_result().ok_or_else(|| {
            // MFA or another challenge: the pool wants more than a password.
            CognitoFailure::unavailable(
                "AdminInitiateAuth",
                Failure::Challenge(out.challenge_name().map(|c| c.as_str().to_string())),
            )
        })?;
        let (Some(access), Some(refresh)) = (result.access_token(), result.refresh_token()) else {
            return Err(CognitoFailure::internal(
                "AdminInitiateAuth",
                Failure::NoTokens,
            ));
        };
        Ok(Some(DirectorySession {
            access_token: access.to_string(),
            expires_in: u64::try_from(result.expires_in()).unwrap_or(0),
            token_type: result.token_type().unwrap_or("Bearer").to_string(),
            refresh_token: SecretString::from(refresh.to_string()),
            client_id,
            // What ADMIN_USER_PASSWORD_AUTH access tokens carry.
            scope: "aws.cognito.signin.user.admin".to_string(),
        }))
    }
}
