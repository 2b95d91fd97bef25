//! Address requests waiting for the local worker, in SQLite.

use async_trait::async_trait;
use rusqlite::params;

use super::credential_rows::insert_grant_row;
use super::journal::{insert_outbox, oldest_sealed, sealed_pending};
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
        let rows = self.run(move |c| oldest_sealed(c, "intake", limit)).await?;
        Ok(rows
            .into_iter()
            .map(|(id, sealed, created_at)| IntakeItem {
                id,
                sealed,
                created_at,
            })
            .collect())
    }

    async fn intake_pending(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.run(move |c| sealed_pending(c, "intake", &id)).await
    }

    async fn complete_intake(
        &self,
        id: &str,
        link: Option<(&ResetGrant, &OutboxItem)>,
    ) -> Result<(), StoreError> {
        let id = id.to_string();
        let link = link.map(|(grant, mail)| (grant.clone(), mail.clone()));
        self.transact(move |tx| {
            let taken = tx.execute("DELETE FROM intake WHERE id = ?1", [&id])?;
            one_row(taken, "the request was delivered already")?;
            if let Some((grant, mail)) = &link {
                insert_grant_row(tx, grant)?;
                insert_outbox(tx, mail)?;
            }
            Ok(())
        })
        .await
    }
}
