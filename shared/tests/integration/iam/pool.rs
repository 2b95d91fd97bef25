//! What a function calls only with a Cognito user pool as the directory
//! (`REKEY_DIRECTORY=cognito`): the template grants it only when its pool
//! parameter is set (shared/tests/integration/template.rs,
//! `pool_statements_grant_what_the_code_calls_on_that_pool_alone`).

use std::collections::{BTreeMap, BTreeSet};

use rekey::routes::Function;
use rekey::store::dynamo::keys::prefix;

use super::{PUT_ITEM, StoreCall, StoreMethod, UPDATE_ITEM, on};

/// The Cognito actions on the user pool `function` calls with
/// `REKEY_DIRECTORY=cognito` (`directory::cognito`): every look-up is
/// `ListUsers` (by address, or by `sub`) then `AdminGetUser` (an id that
/// is a username); setting a password is `AdminSetUserPassword` then
/// `AdminUserGlobalSignOut`; the recovery log-in signs in with
/// `AdminInitiateAuth`; send-email looks addresses up at delivery and
/// retries the sign-outs notices carry.
pub fn cognito_actions(function: &str) -> &'static [&'static str] {
    const LOOK_UP: &[&str] = &["cognito-idp:AdminGetUser", "cognito-idp:ListUsers"];
    const SET: &[&str] = &[
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminSetUserPassword",
        "cognito-idp:AdminUserGlobalSignOut",
        "cognito-idp:ListUsers",
    ];
    use Function as F;
    let Some(function) = Function::from_name(function) else {
        return &[];
    };
    match function {
        F::ValidateToken | F::RequestUserReset => LOOK_UP,
        F::ResetPassword | F::SetPassword | F::ResetPasswordSigned => SET,
        F::ResetAccount => &[
            "cognito-idp:AdminGetUser",
            "cognito-idp:AdminInitiateAuth",
            "cognito-idp:AdminSetUserPassword",
            "cognito-idp:AdminUserGlobalSignOut",
            "cognito-idp:ListUsers",
        ],
        F::SendEmail => &[
            "cognito-idp:AdminGetUser",
            "cognito-idp:AdminUserGlobalSignOut",
            "cognito-idp:ListUsers",
        ],
        F::RequestReset
        | F::ValidatePassword
        | F::SendResetLink
        | F::RecoverAccount
        | F::ResetPage
        | F::Discovery
        | F::OAuthToken
        | F::OAuthRevoke
        | F::OAuthUserinfo => &[],
    }
}

/// The store calls a function makes only with a Cognito pool, granted
/// only when the template's pool parameter is set: every look-up writes
/// the pool user's record on first sight (`insert_user`) and mirrors the
/// pool's enabled flag into it (`set_user_disabled`); a password change
/// is claimed first and the claim given back on failure.
pub fn pool_store_calls(function: &str) -> &'static [StoreCall] {
    const LOOK_UP: &[StoreCall] = &[POOL_RECORD, SET_USER_DISABLED];
    const SET: &[StoreCall] = &[
        POOL_RECORD,
        SET_USER_DISABLED,
        CLAIM_PASSWORD_CHANGE,
        RELEASE_PASSWORD_CHANGE,
    ];
    use Function as F;
    let Some(function) = Function::from_name(function) else {
        return &[];
    };
    match function {
        F::ValidateToken | F::RequestUserReset | F::SendEmail => LOOK_UP,
        F::ResetPassword | F::SetPassword | F::ResetPasswordSigned | F::ResetAccount => SET,
        F::RequestReset
        | F::ValidatePassword
        | F::SendResetLink
        | F::RecoverAccount
        | F::ResetPage
        | F::Discovery
        | F::OAuthToken
        | F::OAuthRevoke
        | F::OAuthUserinfo => &[],
    }
}

/// `pool_store_calls`' DynamoDB actions and `pk` prefixes, as
/// `leading_keys` gives them for `store_calls`.
pub fn pool_leading_keys(function: &str) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut by_action: BTreeMap<_, BTreeSet<_>> = BTreeMap::new();
    for access in pool_store_calls(function).iter().flat_map(|c| c.access) {
        by_action
            .entry(access.action)
            .or_default()
            .insert(access.pk_prefix);
    }
    by_action
}

/// A pool user's record, written on first sight (pool directory only).
pub const POOL_RECORD: StoreCall = StoreCall {
    method: StoreMethod::InsertUser,
    redeeming: None,
    api: "TransactWriteItems: Put USER#, Put EMAIL#",
    access: &[on(PUT_ITEM, prefix::USER), on(PUT_ITEM, prefix::EMAIL)],
};
/// The pool's enabled flag mirrored into its user's record (pool
/// directory only).
pub const SET_USER_DISABLED: StoreCall = StoreCall {
    method: StoreMethod::SetUserDisabled,
    redeeming: None,
    api: "UpdateItem USER#",
    access: &[on(UPDATE_ITEM, prefix::USER)],
};
pub const CLAIM_PASSWORD_CHANGE: StoreCall = StoreCall {
    method: StoreMethod::ClaimPasswordChange,
    redeeming: None,
    api: "UpdateItem USER#",
    access: &[on(UPDATE_ITEM, prefix::USER)],
};
pub const RELEASE_PASSWORD_CHANGE: StoreCall = StoreCall {
    method: StoreMethod::ReleasePasswordChange,
    redeeming: None,
    api: "UpdateItem USER#",
    access: &[on(UPDATE_ITEM, prefix::USER)],
};
