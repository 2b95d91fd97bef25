//! The items of `TransactWriteItems` calls, and the expression values
//! their conditions and updates use.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::keys::Key;
use super::records::Record;
use crate::domain::{PasswordChange, RefreshToken, ResetCode, UnixTime};
use crate::store::StoreError;

/// The SDK's builders fail only when a required field is unset: a bug here.
pub(super) fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Request(Box::new(e)))
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn list(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.clone())).collect())
}

/// Writes `record`, replacing whatever was at its key.
pub(super) fn put(table: &str, record: &impl Record) -> Result<TransactWriteItem, StoreError> {
    put_item(table, record, None)
}

/// Writes `record` only where nothing is yet.
pub(super) fn put_new(table: &str, record: &impl Record) -> Result<TransactWriteItem, StoreError> {
    put_item(table, record, Some("attribute_not_exists(pk)"))
}

fn put_item(
    table: &str,
    record: &impl Record,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .put(built(
            Put::builder()
                .table_name(table)
                .set_item(Some(record.to_item()?))
                .set_condition_expression(condition.map(str::to_string))
                .build(),
        )?)
        .build())
}

/// Disables the user and bumps its credential version, if it exists and
/// is enabled.
pub(super) fn disable_enabled_user(
    table: &str,
    id: &crate::domain::UserId,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::user(id).to_item()?))
        .update_expression("SET disabled = :t ADD credential_version :one")
        .condition_expression("attribute_exists(pk) AND disabled = :f")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .expression_attribute_values(":f", AttributeValue::Bool(false))
        .expression_attribute_values(":one", n(1))
        .build();
    Ok(TransactWriteItem::builder().update(built(update)?).build())
}

/// Deletes an address request, if it is still pending.
pub(super) fn take_intake(table: &str, id: &str) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(Key::intake(id).to_item()?))
        .condition_expression("attribute_exists(pk)")
        .build();
    Ok(TransactWriteItem::builder().delete(built(delete)?).build())
}

/// Marks the grant used, if it still is unused, unexpired and the user's.
pub(super) fn use_grant(
    table: &str,
    key: Key,
    ch: &PasswordChange,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key.to_item()?))
        .update_expression("SET used_at = :now")
        .condition_expression(
            "attribute_exists(pk) AND attribute_not_exists(used_at) \
             AND expires_at > :now AND user_id = :user",
        )
        .expression_attribute_values(":now", n(ch.changed_at))
        .expression_attribute_values(":user", s(ch.user_id.as_str()))
        .build();
    Ok(TransactWriteItem::builder().update(built(update)?).build())
}

/// Deletes the user's code, if it is still the one issued at `issued_at`.
pub(super) fn use_code(
    table: &str,
    ch: &PasswordChange,
    digest: &str,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(Key::code(&ch.user_id).to_item()?))
        .condition_expression("digest = :digest")
        .expression_attribute_values(":digest", s(digest.to_string()))
        .build();
    Ok(TransactWriteItem::builder().delete(built(delete)?).build())
}

/// The new hash, history, credential version, sequence and change time,
/// if the credential version is still the expected one.
pub(super) fn change_credential(
    table: &str,
    ch: &PasswordChange,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::user(&ch.user_id).to_item()?))
        .update_expression(
            "SET password_hash = :h, password_history = :hist, credential_version = :next, \
             #seq = if_not_exists(#seq, :zero) + :one, changed_at = :now",
        )
        .condition_expression("credential_version = :expected")
        .expression_attribute_names("#seq", "sequence")
        .expression_attribute_values(":h", s(ch.new_hash.clone()))
        .expression_attribute_values(":hist", list(&ch.history))
        .expression_attribute_values(":next", n(ch.expected.next().0))
        .expression_attribute_values(":expected", n(ch.expected.0))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", n(ch.changed_at))
        .build();
    Ok(TransactWriteItem::builder().update(built(update)?).build())
}

/// Bumps the user's sequence for a new code, if the account exists.
pub(super) fn bump_sequence(
    table: &str,
    code: &ResetCode,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::user(&code.user_id).to_item()?))
        .update_expression("SET #seq = if_not_exists(#seq, :zero) + :one, changed_at = :now")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#seq", "sequence")
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":now", n(code.issued_at))
        .build();
    Ok(TransactWriteItem::builder().update(built(update)?).build())
}

/// Marks a refresh token used, if it still is unused and unexpired.
pub(super) fn use_refresh(
    table: &str,
    token: &RefreshToken,
    at: UnixTime,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::refresh(&token.digest).to_item()?))
        .update_expression("SET used_at = :now")
        .condition_expression(
            "attribute_exists(pk) AND attribute_not_exists(used_at) AND expires_at > :now",
        )
        .expression_attribute_values(":now", n(at))
        .build();
    Ok(TransactWriteItem::builder().update(built(update)?).build())
}

/// Keeps the token's family until `until`, if it is not revoked (written
/// on first rotation: a family nobody rotated or revoked has no item).
pub(super) fn extend_family(
    table: &str,
    family: &str,
    until: UnixTime,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::family(family).to_item()?))
        .update_expression("SET #ttl = :until, #kind = :kind")
        .condition_expression("attribute_not_exists(revoked_at)")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_names("#kind", super::table::KIND_ATTRIBUTE)
        .expression_attribute_values(":until", n(until))
        .expression_attribute_values(":kind", s("refresh_family"))
        .build();
    Ok(TransactWriteItem::builder().update(built(update)?).build())
}

/// Changes nothing on the user item; fails once its credential version
/// moved past `token`'s, so a rotation cannot outlive a password change.
pub(super) fn same_credential(
    table: &str,
    token: &RefreshToken,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(Key::user(&token.user_id).to_item()?))
        .update_expression("SET credential_version = :v")
        .condition_expression("credential_version = :v")
        .expression_attribute_values(":v", n(token.credential_version.0))
        .build();
    Ok(TransactWriteItem::builder().update(built(update)?).build())
}
