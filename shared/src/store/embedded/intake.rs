//! Address requests waiting for the local worker, in SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::credentials::insert_grant_row;
use super::journal::insert_outbox;
use super::{EmbeddedStore, one_row};
use crate::domain::{IntakeItem, OutboxItem, ResetGrant};
use crate::store::{IntakeStore, StoreError};

#[async_trait]
impl IntakeStore for EmbeddedStore {
    async fn enqueue_intake(&self, item: &IntakeItem) -> Result<(), StoreError> {
        let i = item.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO intake (id, sealed, created_at) VALUES (?1, ?2, ?3)",
                params![i.id, i.sealed, i.created_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn pending_intake(&self, limit: usize) -> Result<Vec<IntakeItem>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, sealed, created_at FROM intake ORDER BY created_at, rowid LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(read_columns!(
                    r,
                    IntakeItem {
                        id,
                        sealed,
                        created_at
                    }
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn intake_pending(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.run(move |c| {
            Ok(
                c.query_row("SELECT 1 FROM intake WHERE id = ?1", [&id], |_| Ok(()))
                    .optional()?
                    .is_some(),
            )
        })
        .await
    }

    async fn complete_intake(
        &self,
        id: &str,
        grant: Option<&ResetGrant>,
        mail: Option<&OutboxItem>,
    ) -> Result<(), StoreError> {
        let (id, grant, mail) = (id.to_string(), grant.cloned(), mail.cloned());
        self.transact(move |tx| {
            let taken = tx.execute("DELETE FROM intake WHERE id = ?1", [&id])?;
            one_row(taken, "the request was delivered already")?;
            if let Some(g) = &grant {
                insert_grant_row(tx, g)?;
            }
            if let Some(m) = &mail {
                insert_outbox(tx, m)?;
            }
            Ok(())
        })
        .await
    }
}
