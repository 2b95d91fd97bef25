//! Adding accounts and API keys: `user add`, `key create`, and the demo
//! data `serve` creates.

use crate::failure::Failure;
use rekey::clock::{Clock, SystemClock};
use rekey::crypto::{API_KEY_PREFIX, BearerSecret};
use rekey::domain::{ApiKey, EmailAddress, OrgBinding, Scope, User, UserId};
use rekey::password::{CredentialHasher, NewPassword};
use rekey::store::Store;

pub async fn add_user(
    store: &dyn Store,
    config: &rekey::Config,
    email: &str,
    name: Option<String>,
    org: Option<String>,
    id: Option<String>,
    password: Option<&str>,
) -> Result<UserId, Failure> {
    let email = EmailAddress::parse(email)
        .ok_or_else(|| format!("{email:?} is not a valid email address"))?;
    let id = match id {
        Some(raw) => UserId::parse(&raw).ok_or_else(|| {
            format!("{raw:?} is not a valid user id: use 1 to 128 of A-Z a-z 0-9 - _ . @")
        })?,
        None => UserId::generate(),
    };
    let mut user = User::new(id.clone(), email, SystemClock.now());
    user.name = name;
    user.org = org;
    if let Some(raw) = password {
        let password = NewPassword::normalize(raw);
        let who = rekey::password::PasswordContext {
            email: Some(user.email.as_str()),
            name: user.name.as_deref(),
        };
        let failed = config
            .policy
            .check(rekey::password::Profile::Nist, &password, who);
        if !failed.is_empty() {
            let rules: Vec<String> = failed
                .iter()
                .map(|v| format!("{}: {}", v.rule.name(), v.message))
                .collect();
            return Err(format!(
                "the password does not meet the policy:\n  {}",
                rules.join("\n  ")
            )
            .into());
        }
        let hasher = CredentialHasher::new(config.hash_params);
        user.password_hash = Some(
            hasher
                .hash_off_executor(password)
                .await
                .map_err(Failure::of)?,
        );
    }
    store.insert_user(&user).await.map_err(|e| match e {
        rekey::StoreError::Conflict(_) => format!(
            "a user with id {} or email {} exists already",
            id,
            user.email.as_str()
        )
        .into(),
        other => Failure::of(other),
    })?;
    Ok(id)
}

/// An organisation name for `--org`: not empty, and not `*`, which the
/// stores use for "every organisation".
pub fn parse_org(raw: &str) -> Result<String, Failure> {
    match raw.trim() {
        "" => Err("an organisation name must not be empty".into()),
        OrgBinding::ALL_ORGS => Err("use --all-orgs for a key of every organisation".into()),
        org => Ok(org.to_string()),
    }
}

pub async fn create_key(
    store: &dyn Store,
    mut scopes: Vec<Scope>,
    name: String,
    org: OrgBinding,
) -> Result<BearerSecret, Failure> {
    scopes.sort();
    scopes.dedup();
    let secret = BearerSecret::generate(API_KEY_PREFIX);
    let key = ApiKey {
        digest: secret.digest(),
        name,
        scopes,
        created_at: SystemClock.now(),
        revoked: false,
        org,
    };
    store.insert_api_key(&key).await.map_err(Failure::of)?;
    Ok(secret)
}
