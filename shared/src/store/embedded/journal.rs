//! Rate counters, the audit trail and the outbox in SQLite.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::EmbeddedStore;
use crate::domain::{AuditEvent, OutboxItem, UnixTime, UserId};
use crate::store::{AuditStore, CounterStore, OutboxStore, StoreError};

pub(super) fn insert_audit(conn: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO audit (id, user_id, action, outcome, at, source_ip, user_agent, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.id,
            e.user_id.as_str(),
            e.action,
            e.outcome,
            e.at,
            e.source_ip,
            e.user_agent,
            e.expires_at
        ],
    )?;
    Ok(())
}

pub(super) fn insert_outbox(conn: &Connection, mail: &OutboxItem) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO outbox (id, sealed, created_at) VALUES (?1, ?2, ?3)",
        params![mail.id, mail.sealed, mail.created_at],
    )?;
    Ok(())
}

/// The two sealed queues, `outbox` (mail and webhooks) and `intake`
/// (address requests), hold the same (id, sealed, created_at) rows.
pub(super) type SealedRow = (String, String, UnixTime);

/// A sealed queue's oldest `limit` rows, in the order they were written.
pub(super) fn oldest_sealed(
    conn: &Connection,
    table: &'static str,
    limit: usize,
) -> Result<Vec<SealedRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT id, sealed, created_at FROM {table} ORDER BY created_at, rowid LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether a sealed queue still holds the row `id`.
pub(super) fn sealed_pending(
    conn: &Connection,
    table: &'static str,
    id: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT 1 FROM {table} WHERE id = ?1"),
            [id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[async_trait]
impl CounterStore for EmbeddedStore {
    async fn count_hit(
        &self,
        key: &str,
        window_start: UnixTime,
        expires_at: UnixTime,
    ) -> Result<u64, StoreError> {
        let key = key.to_string();
        self.run(move |c| {
            let hits: i64 = c.query_row(
                "INSERT INTO rate_counters (key, window_start, hits, expires_at) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1
                 RETURNING hits",
                params![key, window_start, expires_at],
                |r| r.get(0),
            )?;
            Ok(hits as u64)
        })
        .await
    }
}

#[async_trait]
impl AuditStore for EmbeddedStore {
    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let e = event.clone();
        self.run(move |c| insert_audit(c, &e)).await
    }

    async fn audit_events(
        &self,
        user: &UserId,
        limit: usize,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let user = user.clone();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, action, outcome, at, source_ip, user_agent, expires_at FROM audit
                 WHERE user_id = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![user.as_str(), limit as i64], |r| {
                Ok(read_columns!(r, AuditEvent {
                    id, action, outcome, at, source_ip, user_agent, expires_at;
                    user_id: user.clone()
                }))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

#[async_trait]
impl OutboxStore for EmbeddedStore {
    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError> {
        let m = mail.clone();
        self.run(move |c| insert_outbox(c, &m)).await
    }

    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let rows = self.run(move |c| oldest_sealed(c, "outbox", limit)).await?;
        Ok(rows
            .into_iter()
            .map(|(id, sealed, created_at)| OutboxItem {
                id,
                sealed,
                created_at,
            })
            .collect())
    }

    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.run(move |c| sealed_pending(c, "outbox", &id)).await
    }

    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.run(move |c| {
            c.execute("DELETE FROM outbox WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }
}
