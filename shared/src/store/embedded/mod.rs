//! The embedded store for local use: one SQLite file in WAL mode, so
//! `rekeyctl user add` can write while `rekeyctl serve` runs on the same
//! data dir. Never built into a Lambda.

/// `$ty { a: row.get(0)?, b: row.get(1)?, .. }`: the fields named in the
/// order of the SELECT's columns, then (after `;`) any given by value.
macro_rules! read_columns {
    ($row:expr, $ty:ident { $($column:ident),+ $(; $($field:ident: $value:expr),+)? }) => {{
        let mut index = 0usize;
        let mut next = || {
            index += 1;
            index - 1
        };
        $ty {
            $($column: $row.get(next())?,)+
            $($($field: $value,)+)?
        }
    }};
}

mod accounts;
mod credential_rows;
mod credentials;
mod intake;
mod journal;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::StoreError;

#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
}

/// A violated constraint (a taken key) is the domain's conflict; any other
/// SQLite failure, including a value of the wrong type, the store refusing
/// service.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict("a record with that key exists")
            }
            _ => StoreError::Unavailable(Box::new(e)),
        }
    }
}

/// Times are INTEGER columns of Unix seconds.
impl rusqlite::types::ToSql for crate::domain::UnixTime {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.secs().into())
    }
}

impl rusqlite::types::FromSql for crate::domain::UnixTime {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        i64::column_result(value).map(Self::from_secs)
    }
}

/// User ids and digests are TEXT columns, credential versions INTEGER.
impl rusqlite::types::ToSql for crate::domain::UserId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::ToSql for crate::crypto::SecretDigest {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::ToSql for crate::domain::CredentialVersion {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok((self.0 as i64).into())
    }
}

/// A list column's JSON text. Lists of strings always serialise; the error
/// is carried as SQLite's own, should that ever change.
fn json_column(value: &impl serde::Serialize) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// An UPDATE or DELETE that had to touch exactly one row, or `Conflict`
/// with `why`.
fn one_row(changed: usize, why: &'static str) -> Result<(), StoreError> {
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(why))
    }
}

/// The row `sql` selects by `key`, if any: read by `read`, then made a
/// domain value by `into`.
fn row_by_key<R, T>(
    conn: &Connection,
    sql: &str,
    key: &str,
    read: fn(&Row<'_>) -> rusqlite::Result<R>,
    into: impl FnOnce(R) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    conn.query_row(sql, [key], read)
        .optional()?
        .map(into)
        .transpose()
}

/// A JSON column (history, scopes) that does not decode.
fn corrupt_json(what: &str) -> impl FnOnce(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(Box::new(crate::error::context(what.to_string(), e)))
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(Box::new(crate::error::context(
                    format!("cannot create {}", dir.display()),
                    e,
                )))
            })?;
        }
        let conn = Connection::open(path)?;
        // Another process (the CLI) may hold the write lock for a moment.
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(schema::SCHEMA)?;
        schema::add_missing_columns(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs blocking SQLite work off the async executor.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(Box::new(e)))?
    }

    /// Runs `work` in one write transaction, taken up front so that
    /// concurrent writers queue instead of failing at commit.
    async fn transact<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = work(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}
