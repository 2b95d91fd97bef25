//! Rate counters, the audit trail, the outbox and the intake in the
//! DynamoDB table.

use async_trait::async_trait;

use super::DynamoStore;
use super::client::classify;
use super::keys::Key;
use super::records::{AuditRecord, GrantRecord, Hits, IntakeRecord, OutboxRecord, Record};
use super::table;
use super::transactions::{n, put_new, s, take_intake};
use crate::domain::{AuditEvent, IntakeItem, OutboxItem, ResetGrant, UnixTime, UserId};
use crate::store::{AuditStore, CounterStore, IntakeStore, OutboxStore, StoreError};

#[async_trait]
impl CounterStore for DynamoStore {
    async fn count_hit(
        &self,
        counter: &str,
        window_start: UnixTime,
        expires_at: UnixTime,
    ) -> Result<u64, StoreError> {
        let out = self
            .update(Key::rate(counter, window_start))?
            .update_expression("ADD hits :one SET #ttl = :exp, #kind = :kind")
            .expression_attribute_names("#ttl", table::TTL_ATTRIBUTE)
            .expression_attribute_names("#kind", table::KIND_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":kind", s("rate"))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        let hits: Hits = serde_dynamo::from_item(out.attributes.unwrap_or_default())
            .map_err(|e| StoreError::Corrupt(Box::new(crate::error::context("rate counter", e))))?;
        Ok(hits.hits)
    }
}

#[async_trait]
impl AuditStore for DynamoStore {
    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(AuditRecord::from(event).to_item()?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn audit_events(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(Key::audit_partition(user)))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(classify)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| AuditRecord::from_item(item).and_then(AuditEvent::try_from))
            .collect()
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError> {
        self.transact(vec![put_new(&self.table, &OutboxRecord::from(mail))?])
            .await
    }

    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let mut items: Vec<OutboxItem> = self
            .scan_kind::<OutboxRecord>(Some(limit))
            .await?
            .into_iter()
            .map(OutboxItem::from)
            .collect();
        items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        items.truncate(limit);
        Ok(items)
    }

    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.get::<OutboxRecord>(Key::outbox(id)).await?.is_some())
    }

    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Key::outbox(id).to_item()?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[async_trait]
impl IntakeStore for DynamoStore {
    async fn enqueue_intake(&self, item: &IntakeItem) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(IntakeRecord::from(item).to_item()?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn pending_intake(&self, limit: usize) -> Result<Vec<IntakeItem>, StoreError> {
        let mut items: Vec<IntakeItem> = self
            .scan_kind::<IntakeRecord>(Some(limit))
            .await?
            .into_iter()
            .map(IntakeItem::from)
            .collect();
        items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        items.truncate(limit);
        Ok(items)
    }

    async fn intake_pending(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.get::<IntakeRecord>(Key::intake(id)).await?.is_some())
    }

    async fn complete_intake(
        &self,
        id: &str,
        link: Option<(&ResetGrant, &OutboxItem)>,
    ) -> Result<(), StoreError> {
        let mut items = vec![take_intake(&self.table, id)?];
        if let Some((grant, mail)) = link {
            items.push(put_new(&self.table, &GrantRecord::from(grant))?);
            items.push(put_new(&self.table, &OutboxRecord::from(mail))?);
        }
        self.transact(items)
            .await
            .map_err(|e| e.conflict_as("the request was delivered already"))
    }
}
