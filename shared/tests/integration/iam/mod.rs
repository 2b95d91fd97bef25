//! The IAM oracle: the actions each Lambda's code needs, the code-side
//! truth that template.yaml's roles are checked against (template.rs).
//! Test support, not part of `rekey`: no Lambda links it.
//!
//! Derived by reading which `Store` methods each function's operation can
//! reach (`Function::operation` -> contract/ -> reset/, sign_in/,
//! resource_server.rs, guard/, or delivery/stream.rs) and which DynamoDB API
//! each of those calls in `store::dynamo`. Every table here matches on
//! `Function` exhaustively: a function declared in
//! `rekey::routes::declaration` and missing here does not compile. A role must grant
//! exactly these: nothing the code does not call, nothing it does.
//!
//! DynamoDB authorises a `TransactWriteItems` item by item: each `Put`,
//! `Update` and `Delete` inside it needs `PutItem`, `UpdateItem` and
//! `DeleteItem` on the table (there is no `TransactWriteItems` action), and
//! a `ConditionCheck` would need `ConditionCheckItem` (rekey uses none).
//! Condition expressions need nothing more. Each call also states the `pk`
//! prefixes (`store::dynamo::keys::prefix`) it needs each action on, and a
//! role grants each action only under a `dynamodb:LeadingKeys` condition
//! (`ForAllValues:StringLike`, `<prefix>*`) on those: a function that only
//! counts hits cannot update a user item. `LeadingKeys` is checked item by
//! item inside a transaction too. `Scan` (`users`, `pending_mail`,
//! `pending_intake`), `Query` (`audit_events`) and the writes of
//! `insert_user` and `insert_api_key` are only for rekeyctl
//! (`NOT_IN_LAMBDAS`), so no Lambda is granted them.
//!
//! When a handler starts calling another `Store` method, or `store::dynamo`
//! changes the API a method calls, update this file and template.yaml
//! together: template.rs fails until they agree, and fails for any
//! `StoreMethod` this file does not place; iam_reach.rs drives each
//! function's `events/` sample through a recording store and fails for any
//! call a function makes that this file does not place.

use std::collections::{BTreeMap, BTreeSet};

use rekey::routes::Function;
use rekey::store::dynamo::keys::prefix;

/// What functions call only with a Cognito pool as the directory.
mod pool;
pub use pool::*;

pub const GET_ITEM: &str = "dynamodb:GetItem";
pub const PUT_ITEM: &str = "dynamodb:PutItem";
pub const UPDATE_ITEM: &str = "dynamodb:UpdateItem";
pub const DELETE_ITEM: &str = "dynamodb:DeleteItem";

/// The Lambda fed by the table's stream (not an HTTP function).
pub const STREAM_FUNCTION: &str = Function::SendEmail.name();

/// What send-email's event source mapping needs to read the table's stream
/// (Lambda polls with the function's role). Not called by rekey's code.
pub const STREAM_ACTIONS: &[&str] = &[
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

/// `mail::ses::SesMailer::send`: SES v2 `SendEmail` with raw content is
/// authorised as `ses:SendEmail` on the sender identity (`ses:SendRawEmail`
/// is SES v1's action). Only send-email.
pub const SES_ACTIONS: &[&str] = &["ses:SendEmail"];

/// `sms::sns::SnsTexter::send`: `CheckIfPhoneNumberIsOptedOut`, then
/// `Publish` to the number. Neither has a resource ARN for a phone number,
/// so both are granted on `*`; `Publish` is denied on every SNS ARN
/// (`SNS_DENIED_RESOURCE`: topics, platform endpoints). Only send-email.
pub const SNS_ACTIONS: &[&str] = &["sns:CheckIfPhoneNumberIsOptedOut", "sns:Publish"];

/// What send-email may never publish to: any SNS resource.
pub const SNS_DENIED_RESOURCE: &str = "arn:${AWS::Partition}:sns:*:*:*";

/// The event source mapping's on-failure destination, sent with the
/// function's role. Only send-email.
pub const DEAD_LETTER_ACTIONS: &[&str] = &["sqs:SendMessage"];

/// The webhook retry queue: `webhook::sqs::SqsRetries::schedule` sends to
/// it, and send-email's SQS event source mapping receives, deletes and
/// reads its attributes with the function's role. Only send-email.
pub const WEBHOOK_RETRY_ACTIONS: &[&str] = &[
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
];

/// The webhook dead-letter queue: `SqsRetries::dead_letter`. Only send-email.
pub const WEBHOOK_DEAD_LETTER_ACTIONS: &[&str] = &["sqs:SendMessage"];

/// The KMS actions on the access-token signing keys `function` needs:
/// reset-account and oauth-token sign (`kms:Sign`) and name the key by its
/// public half's thumbprint (`kms:GetPublicKey`); discovery publishes the
/// public halves, and oauth-userinfo verifies tokens with them.
pub fn kms_actions(function: &str) -> &'static [&'static str] {
    use Function as F;
    let Some(function) = Function::from_name(function) else {
        return &[];
    };
    match function {
        F::ResetAccount | F::OAuthToken => &["kms:GetPublicKey", "kms:Sign"],
        F::Discovery | F::OAuthUserinfo => &["kms:GetPublicKey"],
        F::RequestReset
        | F::ValidateToken
        | F::ResetPassword
        | F::ValidatePassword
        | F::RequestUserReset
        | F::SetPassword
        | F::SendResetLink
        | F::ResetPasswordSigned
        | F::RecoverAccount
        | F::ResetPage
        | F::OAuthRevoke
        | F::SendEmail => &[],
    }
}

/// `secrets_manager::SecretsManager::read`: one `GetSecretValue` per secret
/// and stage at init, on the secret's ARN only.
pub const SECRET_ACTIONS: &[&str] = &["secretsmanager:GetSecretValue"];

/// The secrets `function` reads at init (`config::stored_secrets`), by the
/// variable each stands for: every function that serves the reset flows
/// reads the service secret and, with the edge, the edge secret; send-email
/// serves no HTTP request and alone reads the webhook secrets; discovery
/// and reset-page hold no secret.
pub fn secrets_read(function: &str) -> &'static [&'static str] {
    use Function as F;
    let Some(function) = Function::from_name(function) else {
        return &[];
    };
    match function {
        F::ResetPage | F::Discovery => &[],
        F::SendEmail => &["REKEY_SECRET", "REKEY_WEBHOOK_SECRETS"],
        F::RequestReset
        | F::ValidateToken
        | F::ResetPassword
        | F::ValidatePassword
        | F::RequestUserReset
        | F::SetPassword
        | F::SendResetLink
        | F::ResetPasswordSigned
        | F::RecoverAccount
        | F::ResetAccount
        | F::OAuthToken
        | F::OAuthRevoke
        | F::OAuthUserinfo => &["REKEY_SECRET", "REKEY_EDGE_SECRET"],
    }
}

/// Every function writes its logs to its own log group (which the template
/// creates, so no `logs:CreateLogGroup`).
pub const LOG_ACTIONS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

/// Declares `StoreMethod` and its `ALL` from one list, so neither can miss
/// a method the other has.
macro_rules! store_methods {
    ($($role:ident: $($method:ident),+;)+) => {
        /// One method of the `Store` role traits, as this table and the
        /// recording store of shared/tests/integration/iam_reach.rs name it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum StoreMethod {
            $($($method,)+)+
        }

        impl StoreMethod {
            /// Every method, role by role.
            pub const ALL: &'static [StoreMethod] = &[$($(StoreMethod::$method,)+)+];
        }
    };
}

store_methods! {
    AccountStore: InsertUser, User, UserByEmail, Users, SetUserDisabled, UpdatePasswordHash,
        ClaimPasswordChange, ReleasePasswordChange;
    ApiKeyStore: InsertApiKey, ApiKey, ApiKeys, RevokeApiKey;
    CredentialStore: InsertGrant, Grant, ChangePassword, ReplaceResetCode, ResetCode,
        ClaimCodeAttempt, RefreshToken, InsertRefreshToken, RotateRefreshToken,
        RevokeRefreshFamily;
    CounterStore: CountHit;
    AuditStore: RecordAudit, AuditEvents;
    OutboxStore: EnqueueMail, PendingMail, MailPending, MailDelivered;
    IntakeStore: EnqueueIntake, PendingIntake, IntakePending, CompleteIntake;
}

/// What `change_password` consumes: it decides which items the
/// transaction writes, so which actions it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Redeeming {
    Grant,
    Code,
    Nothing,
}

impl From<&rekey::domain::Redemption> for Redeeming {
    fn from(r: &rekey::domain::Redemption) -> Self {
        use rekey::domain::Redemption;
        match r {
            Redemption::Grant(_) => Redeeming::Grant,
            Redemption::Code { .. } => Redeeming::Code,
            Redemption::Nothing => Redeeming::Nothing,
        }
    }
}

/// `Store` methods no Lambda reaches: rekeyctl's (accounts, keys, the local
/// outbox and intake worker), and the grant and mail writes of their own (delivery writes
/// them with the intake's removal, through `complete_intake`).
/// When a handler starts calling one, move it into `store_calls`.
pub const NOT_IN_LAMBDAS: &[StoreMethod] = &[
    StoreMethod::InsertUser,
    StoreMethod::Users,
    StoreMethod::InsertApiKey,
    StoreMethod::PendingMail,
    StoreMethod::PendingIntake,
    StoreMethod::InsertGrant,
    StoreMethod::EnqueueMail,
    StoreMethod::AuditEvents,
    StoreMethod::ApiKeys,
    StoreMethod::RevokeApiKey,
    StoreMethod::SetUserDisabled,
];

/// One `Store` method as `DynamoStore` implements it, with the variant
/// that decides which items it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreCall {
    pub method: StoreMethod,
    /// For `change_password`, what it consumes; None for every other method.
    pub redeeming: Option<Redeeming>,
    /// The DynamoDB API calls it makes.
    pub api: &'static str,
    /// Each action it needs, on the items of which `pk` prefix.
    pub access: &'static [ItemAccess],
}

/// One DynamoDB action on the items whose `pk` starts with `pk_prefix`
/// (`store::dynamo::keys::prefix`): a role grants the action under a
/// `dynamodb:LeadingKeys` condition listing `<prefix>*` for each prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemAccess {
    pub action: &'static str,
    pub pk_prefix: &'static str,
}

const fn on(action: &'static str, pk_prefix: &'static str) -> ItemAccess {
    ItemAccess { action, pk_prefix }
}

impl StoreCall {
    /// Whether this is the call a store saw as `method` (redeeming
    /// `redeeming`).
    pub fn is(&self, method: StoreMethod, redeeming: Option<Redeeming>) -> bool {
        self.method == method && self.redeeming == redeeming
    }
}

pub const API_KEY: StoreCall = StoreCall {
    method: StoreMethod::ApiKey,
    redeeming: None,
    api: "GetItem KEY#",
    access: &[on(GET_ITEM, prefix::API_KEY)],
};
pub const USER: StoreCall = StoreCall {
    method: StoreMethod::User,
    redeeming: None,
    api: "GetItem USER#",
    access: &[on(GET_ITEM, prefix::USER)],
};
pub const USER_BY_EMAIL: StoreCall = StoreCall {
    method: StoreMethod::UserByEmail,
    redeeming: None,
    api: "GetItem EMAIL#, then GetItem USER#",
    access: &[on(GET_ITEM, prefix::EMAIL), on(GET_ITEM, prefix::USER)],
};
pub const GRANT: StoreCall = StoreCall {
    method: StoreMethod::Grant,
    redeeming: None,
    api: "GetItem GRANT#",
    access: &[on(GET_ITEM, prefix::GRANT)],
};
/// Rate limits: `ResetService::over_limit`, behind `limit_source` (public
/// endpoints, per source address), `active_account` (per email, at intake
/// delivery) and `verify_code` (per user).
pub const COUNT_HIT: StoreCall = StoreCall {
    method: StoreMethod::CountHit,
    redeeming: None,
    api: "UpdateItem RATE#",
    access: &[on(UPDATE_ITEM, prefix::RATE)],
};
/// `ResetService::audit_refusal`: a refused attempt on a known account.
pub const RECORD_AUDIT: StoreCall = StoreCall {
    method: StoreMethod::RecordAudit,
    redeeming: None,
    api: "PutItem AUDIT#",
    access: &[on(PUT_ITEM, prefix::AUDIT)],
};
pub const CHANGE_PASSWORD_WITH_GRANT: StoreCall = StoreCall {
    method: StoreMethod::ChangePassword,
    redeeming: Some(Redeeming::Grant),
    api: "TransactWriteItems: Update GRANT#, Update USER#, Put OUTBOX#, Put AUDIT#, Put REFRESH# (with a session)",
    access: &[
        on(UPDATE_ITEM, prefix::GRANT),
        on(UPDATE_ITEM, prefix::USER),
        on(PUT_ITEM, prefix::OUTBOX),
        on(PUT_ITEM, prefix::AUDIT),
        on(PUT_ITEM, prefix::REFRESH),
    ],
};
/// A signed link's redemption: its nonce's grant, never with a session.
pub const CHANGE_PASSWORD_WITH_NONCE: StoreCall = StoreCall {
    method: StoreMethod::ChangePassword,
    redeeming: Some(Redeeming::Grant),
    api: "TransactWriteItems: Update GRANT#, Update USER#, Put OUTBOX#, Put AUDIT#",
    access: &[
        on(UPDATE_ITEM, prefix::GRANT),
        on(UPDATE_ITEM, prefix::USER),
        on(PUT_ITEM, prefix::OUTBOX),
        on(PUT_ITEM, prefix::AUDIT),
    ],
};
pub const CHANGE_PASSWORD_WITH_CODE: StoreCall = StoreCall {
    method: StoreMethod::ChangePassword,
    redeeming: Some(Redeeming::Code),
    api: "TransactWriteItems: Delete USER#/CODE, Update USER#, Put OUTBOX#, Put AUDIT#",
    access: &[
        on(DELETE_ITEM, prefix::USER),
        on(UPDATE_ITEM, prefix::USER),
        on(PUT_ITEM, prefix::OUTBOX),
        on(PUT_ITEM, prefix::AUDIT),
    ],
};
pub const CHANGE_PASSWORD_WITH_NOTHING: StoreCall = StoreCall {
    method: StoreMethod::ChangePassword,
    redeeming: Some(Redeeming::Nothing),
    api: "TransactWriteItems: Update USER#, Put OUTBOX#, Put AUDIT#",
    access: &[
        on(UPDATE_ITEM, prefix::USER),
        on(PUT_ITEM, prefix::OUTBOX),
        on(PUT_ITEM, prefix::AUDIT),
    ],
};
pub const REPLACE_RESET_CODE: StoreCall = StoreCall {
    method: StoreMethod::ReplaceResetCode,
    redeeming: None,
    api: "TransactWriteItems: Put USER#/CODE, Update USER#, Put OUTBOX# (when mailed); then GetItem USER#",
    access: &[
        on(PUT_ITEM, prefix::USER),
        on(UPDATE_ITEM, prefix::USER),
        on(PUT_ITEM, prefix::OUTBOX),
        on(GET_ITEM, prefix::USER),
    ],
};
/// `ResetService::verify_password` (the current-password proof, and the
/// history check after any proof): a match against a hash of older
/// parameters (or an imported bcrypt / pbkdf2 hash) upgrades it.
pub const UPDATE_PASSWORD_HASH: StoreCall = StoreCall {
    method: StoreMethod::UpdatePasswordHash,
    redeeming: None,
    api: "UpdateItem USER#",
    access: &[on(UPDATE_ITEM, prefix::USER)],
};
pub const RESET_CODE: StoreCall = StoreCall {
    method: StoreMethod::ResetCode,
    redeeming: None,
    api: "GetItem USER#/CODE",
    access: &[on(GET_ITEM, prefix::USER)],
};
pub const CLAIM_CODE_ATTEMPT: StoreCall = StoreCall {
    method: StoreMethod::ClaimCodeAttempt,
    redeeming: None,
    api: "UpdateItem USER#/CODE",
    access: &[on(UPDATE_ITEM, prefix::USER)],
};
/// `ResetService::accept_address_request`: the one write of the address
/// endpoints, the same for every address.
pub const ENQUEUE_INTAKE: StoreCall = StoreCall {
    method: StoreMethod::EnqueueIntake,
    redeeming: None,
    api: "PutItem INTAKE#",
    access: &[on(PUT_ITEM, prefix::INTAKE)],
};
pub const INTAKE_PENDING: StoreCall = StoreCall {
    method: StoreMethod::IntakePending,
    redeeming: None,
    api: "GetItem INTAKE#",
    access: &[on(GET_ITEM, prefix::INTAKE)],
};
/// `ResetService::complete_intake`: the request's removal with what its
/// delivery issued.
pub const COMPLETE_INTAKE: StoreCall = StoreCall {
    method: StoreMethod::CompleteIntake,
    redeeming: None,
    api: "TransactWriteItems: Delete INTAKE#, Put GRANT# (a link token), Put OUTBOX# (a mail)",
    access: &[
        on(DELETE_ITEM, prefix::INTAKE),
        on(PUT_ITEM, prefix::GRANT),
        on(PUT_ITEM, prefix::OUTBOX),
    ],
};
pub const MAIL_PENDING: StoreCall = StoreCall {
    method: StoreMethod::MailPending,
    redeeming: None,
    api: "GetItem OUTBOX#",
    access: &[on(GET_ITEM, prefix::OUTBOX)],
};
pub const MAIL_DELIVERED: StoreCall = StoreCall {
    method: StoreMethod::MailDelivered,
    redeeming: None,
    api: "DeleteItem OUTBOX#",
    access: &[on(DELETE_ITEM, prefix::OUTBOX)],
};

/// `ResetService::refresh_session` and `revoke_token`: the presented
/// refresh token.
pub const REFRESH_TOKEN: StoreCall = StoreCall {
    method: StoreMethod::RefreshToken,
    redeeming: None,
    api: "GetItem REFRESH#",
    access: &[on(GET_ITEM, prefix::REFRESH)],
};
/// `ResetService::sign_in_with_password`: a sign-in starts a family.
pub const INSERT_REFRESH_TOKEN: StoreCall = StoreCall {
    method: StoreMethod::InsertRefreshToken,
    redeeming: None,
    api: "PutItem REFRESH#",
    access: &[on(PUT_ITEM, prefix::REFRESH)],
};
/// `ResetService::refresh_session`: the rotation. The user item's update
/// changes nothing; its condition pins the credential version.
pub const ROTATE_REFRESH_TOKEN: StoreCall = StoreCall {
    method: StoreMethod::RotateRefreshToken,
    redeeming: None,
    api: "TransactWriteItems: Update REFRESH#, Update FAMILY#, Update USER#, Put REFRESH#",
    access: &[
        on(UPDATE_ITEM, prefix::REFRESH),
        on(UPDATE_ITEM, prefix::FAMILY),
        on(UPDATE_ITEM, prefix::USER),
        on(PUT_ITEM, prefix::REFRESH),
    ],
};
/// Reuse of a rotated token, and revocation.
pub const REVOKE_REFRESH_FAMILY: StoreCall = StoreCall {
    method: StoreMethod::RevokeRefreshFamily,
    redeeming: None,
    api: "UpdateItem FAMILY#",
    access: &[on(UPDATE_ITEM, prefix::FAMILY)],
};

/// Every deployed function: `Function::ALL`'s names.
pub fn functions() -> Vec<&'static str> {
    Function::ALL.iter().map(|f| f.name()).collect()
}

/// The `Store` calls `function`'s handler can reach; None for a name that
/// is not a deployed function.
pub fn store_calls(function: &str) -> Option<&'static [StoreCall]> {
    Function::from_name(function).map(calls_of)
}

/// The `Store` calls `function`'s operation can reach.
fn calls_of(function: Function) -> &'static [StoreCall] {
    use Function as F;
    match function {
        // payabli::request_reset -> ResetService::authorize (api_key) ->
        // accept_address_request (enqueue_intake). The look-up is delivery's.
        F::RequestReset => &[API_KEY, ENQUEUE_INTAKE],
        // unleash::validate_token -> limit_source (count_hit) ->
        // inspect_token (grant, user).
        F::ValidateToken => &[COUNT_HIT, GRANT, USER],
        // unleash::reset_password -> limit_source (count_hit) ->
        // reset_with_token -> redeem_token -> inspect_token (grant, user;
        // again after a lost race) -> refuse_reused with a history
        // (verify_password: count_hit, update_password_hash when outdated)
        // -> set_password -> change_password with the grant.
        F::ResetPassword => &[
            COUNT_HIT,
            GRANT,
            USER,
            UPDATE_PASSWORD_HASH,
            CHANGE_PASSWORD_WITH_GRANT,
        ],
        // unleash::validate_password -> limit_source (count_hit) ->
        // check_password(_, None): the policy alone (history needs a user).
        F::ValidatePassword => &[COUNT_HIT],
        // zitadel::request_user_reset -> authorize (api_key) -> issue_code
        // (user; for sendLink count_hit per address; replace_reset_code).
        F::RequestUserReset => &[API_KEY, USER, COUNT_HIT, REPLACE_RESET_CODE],
        // zitadel::set_password -> authorize (api_key) ->
        // set_password_with_proof (user; again for the new sequence); a
        // code: verify_code (count_hit per user, reset_code,
        // claim_code_attempt, record_audit when wrong) then change_password
        // with the code; the current password: verify_password
        // (count_hit per account and source, update_password_hash when its
        // hash is outdated, record_audit when wrong) then change_password
        // with nothing; an admin key: change_password with nothing. After
        // any proof, with a history, refuse_reused (verify_password again).
        F::SetPassword => &[
            API_KEY,
            USER,
            COUNT_HIT,
            RESET_CODE,
            CLAIM_CODE_ATTEMPT,
            RECORD_AUDIT,
            UPDATE_PASSWORD_HASH,
            CHANGE_PASSWORD_WITH_CODE,
            CHANGE_PASSWORD_WITH_NOTHING,
        ],
        // django::send_reset_link -> limit_source (count_hit) ->
        // accept_address_request (enqueue_intake).
        F::SendResetLink => &[COUNT_HIT, ENQUEUE_INTAKE],
        // django::reset_password_signed -> limit_source (count_hit) ->
        // reset_with_signature -> inspect_signed_link (user, the nonce's
        // grant) -> refuse_reused with a history (verify_password:
        // count_hit, update_password_hash when outdated) -> set_password ->
        // change_password with the nonce's grant.
        F::ResetPasswordSigned => &[
            COUNT_HIT,
            USER,
            GRANT,
            UPDATE_PASSWORD_HASH,
            CHANGE_PASSWORD_WITH_NONCE,
        ],
        // account::recover_account -> limit_source (count_hit) ->
        // accept_address_request (enqueue_intake).
        F::RecoverAccount => &[COUNT_HIT, ENQUEUE_INTAKE],
        // account::reset_account -> limit_source (count_hit) -> reset_and_log_in ->
        // inspect_token (grant, user) -> redeem_token (refuse_reused with a
        // history: count_hit, update_password_hash when outdated) ->
        // change_password with the grant and a session (the refresh token
        // is one more Put in the transaction).
        F::ResetAccount => &[
            COUNT_HIT,
            GRANT,
            USER,
            UPDATE_PASSWORD_HASH,
            CHANGE_PASSWORD_WITH_GRANT,
        ],
        // contract::page::reset_page: static HTML, script and style; no store,
        // no table access at all (its role grants only its logs).
        F::ResetPage => &[],
        // contract::discovery::discovery: the issuer and the signer's public
        // keys; no store (its role grants its logs and kms:GetPublicKey).
        F::Discovery => &[],
        // oauth::oauth_token -> limit_source (count_hit) -> the password grant:
        // sign_in_with_password (user_by_email; verify_password: count_hit
        // per account and source, update_password_hash when outdated, or
        // the same counts and a dummy comparison; insert_refresh_token) or
        // the refresh grant: refresh_session (refresh_token, user,
        // rotate_refresh_token; revoke_refresh_family on reuse).
        F::OAuthToken => &[
            COUNT_HIT,
            USER_BY_EMAIL,
            USER,
            UPDATE_PASSWORD_HASH,
            REFRESH_TOKEN,
            INSERT_REFRESH_TOKEN,
            ROTATE_REFRESH_TOKEN,
            REVOKE_REFRESH_FAMILY,
        ],
        // oauth::oauth_revoke -> limit_source (count_hit) -> revoke_token
        // (refresh_token, revoke_refresh_family).
        F::OAuthRevoke => &[COUNT_HIT, REFRESH_TOKEN, REVOKE_REFRESH_FAMILY],
        // oauth::oauth_userinfo -> ResourceServer::userinfo: the
        // signer's public keys (KMS, not the table), then the token's
        // account (user). No rate limit: a refusal costs one RSA verify.
        F::OAuthUserinfo => &[USER],
        // delivery::stream::consume_batch: an intake item -> deliver_intake
        // (intake_pending; api_key, for a Payabli request's key) ->
        // request_link_by_key, request_recovery or send_signed_link ->
        // active_account (count_hit per email, user_by_email) ->
        // complete_intake (with a grant and its mail, or nothing); an outbox
        // item -> Outbox::deliver -> mail_pending, then (after SES accepted
        // the mail) mail_delivered; a text first reads its account (user)
        // to check the number is still the verified one.
        F::SendEmail => &[
            INTAKE_PENDING,
            API_KEY,
            COUNT_HIT,
            USER,
            USER_BY_EMAIL,
            COMPLETE_INTAKE,
            MAIL_PENDING,
            MAIL_DELIVERED,
        ],
    }
}

/// The DynamoDB actions `function` needs on the table, sorted and without
/// repeats; None for a name that is not a deployed function.
pub fn dynamodb_actions(function: &str) -> Option<Vec<&'static str>> {
    Some(leading_keys(function)?.into_keys().collect())
}

/// The `pk` prefixes `function` needs each DynamoDB action on: what its
/// role's `dynamodb:LeadingKeys` conditions allow, action by action. None
/// for a name that is not a deployed function.
pub fn leading_keys(function: &str) -> Option<BTreeMap<&'static str, BTreeSet<&'static str>>> {
    let mut by_action: BTreeMap<_, BTreeSet<_>> = BTreeMap::new();
    for access in store_calls(function)?.iter().flat_map(|c| c.access) {
        by_action
            .entry(access.action)
            .or_default()
            .insert(access.pk_prefix);
    }
    Some(by_action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deployed_function_has_its_calls() {
        let all = functions();
        assert_eq!(all.len(), Function::ALL.len());
        for f in all {
            assert!(store_calls(f).is_some(), "{f} has no store calls listed");
        }
        assert!(store_calls("rekeyctl").is_none());
        assert!(dynamodb_actions("no-such-function").is_none());
    }

    #[test]
    fn actions_are_item_operations_only() {
        for f in functions() {
            for a in dynamodb_actions(f).unwrap() {
                assert!(
                    [GET_ITEM, PUT_ITEM, UPDATE_ITEM, DELETE_ITEM].contains(&a),
                    "{f}: {a}"
                );
            }
        }
    }

    #[test]
    fn only_the_password_changing_functions_write_user_items() {
        let writes_users = |f: &str| {
            leading_keys(f)
                .unwrap()
                .iter()
                .any(|(action, prefixes)| *action != GET_ITEM && prefixes.contains(prefix::USER))
        };
        let writers: Vec<_> = functions()
            .into_iter()
            .filter(|f| writes_users(f))
            .collect();
        assert_eq!(
            writers,
            [
                "reset-password",
                "request-user-reset",
                "set-password",
                "reset-password-signed",
                "reset-account",
                // Upgrades an outdated hash on sign-in; the rotation's
                // user-item update only pins the credential version.
                "oauth-token"
            ]
        );
        // send-email delivers address requests too: it writes only their
        // removal, the grant and mail they issue and the per-address counts.
        let stream = leading_keys(STREAM_FUNCTION).unwrap();
        let delivery_writes =
            BTreeSet::from([prefix::INTAKE, prefix::GRANT, prefix::OUTBOX, prefix::RATE]);
        assert!(
            stream
                .iter()
                .filter(|(action, _)| **action != GET_ITEM)
                .all(|(_, p)| p.is_subset(&delivery_writes)),
            "send-email writes intake, grant, outbox and rate items only: {stream:?}"
        );
        assert_eq!(
            leading_keys("validate-password").unwrap(),
            BTreeMap::from([(UPDATE_ITEM, BTreeSet::from([prefix::RATE]))])
        );
    }

    #[test]
    fn chains_give_the_expected_actions() {
        let of = |f| dynamodb_actions(f).unwrap();
        assert_eq!(of("validate-password"), [UPDATE_ITEM]);
        assert_eq!(of("validate-token"), [GET_ITEM, UPDATE_ITEM]);
        assert_eq!(of("request-reset"), [GET_ITEM, PUT_ITEM]);
        assert_eq!(of("send-reset-link"), [PUT_ITEM, UPDATE_ITEM]);
        assert_eq!(of("recover-account"), [PUT_ITEM, UPDATE_ITEM]);
        assert_eq!(of("reset-password"), [GET_ITEM, PUT_ITEM, UPDATE_ITEM]);
        assert_eq!(
            of("set-password"),
            [DELETE_ITEM, GET_ITEM, PUT_ITEM, UPDATE_ITEM]
        );
        assert_eq!(
            of("send-email"),
            [DELETE_ITEM, GET_ITEM, PUT_ITEM, UPDATE_ITEM]
        );
        assert!(of("reset-page").is_empty(), "the page needs no DynamoDB");
    }
}
