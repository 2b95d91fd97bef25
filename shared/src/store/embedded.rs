//! The embedded store for local use: one SQLite file in WAL mode, so
//! `rekeyctl user add` can write while `rekeyctl serve` runs on the same
//! data dir. Never built into a Lambda.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{Store, StoreError};
use crate::crypto::SecretDigest;
use crate::domain::{
    ApiKey, AuditEvent, CredentialVersion, EmailAddress, OutboxItem, PasswordChange, Redemption,
    RefreshToken, ResetCode, ResetGrant, Scope, User, UserId,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    org TEXT,
    locale TEXT,
    password_hash TEXT,
    credential_version INTEGER NOT NULL,
    password_history TEXT NOT NULL DEFAULT '[]',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS api_keys (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS grants (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    credential_version INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE TABLE IF NOT EXISTS reset_codes (
    user_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    credential_version INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    credential_version INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rate_counters (
    key TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE TABLE IF NOT EXISTS audit (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at INTEGER NOT NULL,
    source_ip TEXT,
    user_agent TEXT,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user_id, at);
CREATE TABLE IF NOT EXISTS decoys (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
";

#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict("a record with that key exists")
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path).map_err(unavailable)?;
        // Another process (the CLI) may hold the write lock for a moment.
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
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
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

const USER_COLUMNS: &str = "id, email, name, org, locale, password_hash, credential_version, \
     password_history, disabled, created_at, sequence, changed_at";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<Result<User, StoreError>> {
    let id: String = row.get(0)?;
    let email: String = row.get(1)?;
    let history: String = row.get(7)?;
    let version: i64 = row.get(6)?;
    Ok((|| {
        Ok(User {
            id: UserId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("user id {id:?}")))?,
            email: EmailAddress::parse(&email)
                .ok_or_else(|| StoreError::Corrupt(format!("email of user {id}")))?,
            name: row.get(2).map_err(unavailable)?,
            org: row.get(3).map_err(unavailable)?,
            locale: row.get(4).map_err(unavailable)?,
            password_hash: row.get(5).map_err(unavailable)?,
            credential_version: CredentialVersion(version as u64),
            password_history: serde_json::from_str(&history)
                .map_err(|e| StoreError::Corrupt(format!("history of user {id}: {e}")))?,
            disabled: row.get::<_, i64>(8).map_err(unavailable)? != 0,
            created_at: row.get(9).map_err(unavailable)?,
            sequence: row.get::<_, i64>(10).map_err(unavailable)? as u64,
            changed_at: row.get(11).map_err(unavailable)?,
        })
    })())
}

fn query_user(conn: &Connection, clause: &str, key: &str) -> Result<Option<User>, StoreError> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}"),
        [key],
        user_from_row,
    )
    .optional()
    .map_err(unavailable)?
    .transpose()
}

fn insert_audit(conn: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
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
    )
    .map_err(unavailable)?;
    Ok(())
}

fn insert_outbox(conn: &Connection, mail: &OutboxItem) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO outbox (id, sealed, created_at) VALUES (?1, ?2, ?3)",
        params![mail.id, mail.sealed, mail.created_at],
    )
    .map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let u = user.clone();
        self.run(move |c| {
            let history = serde_json::to_string(&u.password_history).expect("strings serialise");
            c.execute(
                &format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ),
                params![
                    u.id.as_str(),
                    u.email.as_str(),
                    u.name,
                    u.org,
                    u.locale,
                    u.password_hash,
                    u.credential_version.0 as i64,
                    history,
                    u.disabled as i64,
                    u.created_at,
                    u.sequence as i64,
                    u.changed_at
                ],
            )
            .map_err(|e| match unavailable(e) {
                StoreError::Conflict(_) => StoreError::Conflict("a user with that id or email exists"),
                other => other,
            })?;
            Ok(())
        })
        .await
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let id = id.as_str().to_string();
        self.run(move |c| query_user(c, "id = ?1", &id)).await
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_string();
        self.run(move |c| query_user(c, "email = ?1", &email)).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.run(|c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id"
                ))
                .map_err(unavailable)?;
            let rows = stmt.query_map([], user_from_row).map_err(unavailable)?;
            rows.map(|r| r.map_err(unavailable)?).collect()
        })
        .await
    }

    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<(), StoreError> {
        let id = id.as_str().to_string();
        self.run(move |c| {
            let changed = c
                .execute(
                    "UPDATE users SET disabled = ?1, credential_version = credential_version + ?1
                     WHERE id = ?2",
                    params![disabled as i64, id],
                )
                .map_err(unavailable)?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict("no such user"))
            }
        })
        .await
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<(), StoreError> {
        let (id, expected, new_hash) = (
            id.as_str().to_string(),
            expected.to_string(),
            new_hash.to_string(),
        );
        self.run(move |c| {
            let changed = c
                .execute(
                    "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
                    params![new_hash, id, expected],
                )
                .map_err(unavailable)?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict("password hash changed meanwhile"))
            }
        })
        .await
    }

    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        self.run(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT digest, name, scopes, created_at, revoked FROM api_keys
                     ORDER BY created_at, digest",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .map_err(unavailable)?;
            rows.map(|r| {
                let (digest, name, scopes, created_at, revoked) = r.map_err(unavailable)?;
                Ok(ApiKey {
                    digest: SecretDigest::from_hex(digest),
                    name,
                    scopes: serde_json::from_str::<Vec<Scope>>(&scopes)
                        .map_err(|e| StoreError::Corrupt(format!("scopes of a key: {e}")))?,
                    created_at,
                    revoked: revoked != 0,
                })
            })
            .collect()
        })
        .await
    }

    async fn revoke_api_key(&self, digest: &SecretDigest) -> Result<(), StoreError> {
        let d = digest.as_str().to_string();
        self.run(move |c| {
            let changed = c
                .execute("UPDATE api_keys SET revoked = 1 WHERE digest = ?1", [d])
                .map_err(unavailable)?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict("no such key"))
            }
        })
        .await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let k = key.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO api_keys (digest, name, scopes, created_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    k.digest.as_str(),
                    k.name,
                    serde_json::to_string(&k.scopes).expect("scopes serialise"),
                    k.created_at,
                    k.revoked as i64
                ],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn api_key(&self, digest: &SecretDigest) -> Result<Option<ApiKey>, StoreError> {
        let d = digest.clone();
        self.run(move |c| {
            let row = c
                .query_row(
                    "SELECT name, scopes, created_at, revoked FROM api_keys WHERE digest = ?1",
                    [d.as_str()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|(name, scopes, created_at, revoked)| {
                Ok(ApiKey {
                    digest: d.clone(),
                    name,
                    scopes: serde_json::from_str::<Vec<Scope>>(&scopes)
                        .map_err(|e| StoreError::Corrupt(format!("scopes of a key: {e}")))?,
                    created_at,
                    revoked: revoked != 0,
                })
            })
            .transpose()
        })
        .await
    }

    async fn insert_grant(&self, grant: &ResetGrant, mail: &OutboxItem) -> Result<(), StoreError> {
        let (g, m) = (grant.clone(), mail.clone());
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            tx.execute(
                "INSERT INTO grants (digest, user_id, credential_version, issued_at, expires_at, used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    g.digest.as_str(),
                    g.user_id.as_str(),
                    g.credential_version.0 as i64,
                    g.issued_at,
                    g.expires_at,
                    g.used_at
                ],
            )
            .map_err(unavailable)?;
            insert_outbox(&tx, &m)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn grant(&self, digest: &SecretDigest) -> Result<Option<ResetGrant>, StoreError> {
        let d = digest.clone();
        self.run(move |c| {
            let row = c
                .query_row(
                    "SELECT user_id, credential_version, issued_at, expires_at, used_at FROM grants WHERE digest = ?1",
                    [d.as_str()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<i64>>(4)?,
                        ))
                    },
                )
                .optional()
                .map_err(unavailable)?;
            row.map(|(user_id, version, issued_at, expires_at, used_at)| {
                Ok(ResetGrant {
                    digest: d.clone(),
                    user_id: UserId::parse(&user_id)
                        .ok_or_else(|| StoreError::Corrupt("grant's user id".into()))?,
                    credential_version: CredentialVersion(version as u64),
                    issued_at,
                    expires_at,
                    used_at,
                })
            })
            .transpose()
        })
        .await
    }

    async fn change_password(
        &self,
        change: &PasswordChange,
        redemption: &Redemption,
    ) -> Result<(), StoreError> {
        let (ch, redemption) = (change.clone(), redemption.clone());
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let consumed = match &redemption {
                Redemption::Grant(digest) => tx
                    .execute(
                        "UPDATE grants SET used_at = ?1
                         WHERE digest = ?2 AND user_id = ?3 AND used_at IS NULL AND expires_at > ?1",
                        params![ch.changed_at, digest.as_str(), ch.user_id.as_str()],
                    )
                    .map_err(unavailable)?,
                Redemption::Code { issued_at } => tx
                    .execute(
                        "DELETE FROM reset_codes WHERE user_id = ?1 AND issued_at = ?2",
                        params![ch.user_id.as_str(), issued_at],
                    )
                    .map_err(unavailable)?,
                Redemption::Nothing => 1,
            };
            if consumed != 1 {
                return Err(StoreError::Conflict("credential already used"));
            }
            let changed = tx
                .execute(
                    "UPDATE users SET password_hash = ?1, credential_version = credential_version + 1,
                            password_history = ?2, sequence = sequence + 1, changed_at = ?5
                     WHERE id = ?3 AND credential_version = ?4",
                    params![
                        ch.new_hash,
                        serde_json::to_string(&ch.history).expect("strings serialise"),
                        ch.user_id.as_str(),
                        ch.expected.0 as i64,
                        ch.changed_at
                    ],
                )
                .map_err(unavailable)?;
            if changed != 1 {
                return Err(StoreError::Conflict("credential version moved on"));
            }
            insert_outbox(&tx, &ch.notice)?;
            insert_audit(&tx, &ch.audit)?;
            if let Some(r) = &ch.session {
                tx.execute(
                    "INSERT INTO refresh_tokens (digest, user_id, credential_version, client_id, scope, issued_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        r.digest.as_str(),
                        r.user_id.as_str(),
                        r.credential_version.0 as i64,
                        r.client_id,
                        r.scope,
                        r.issued_at,
                        r.expires_at
                    ],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn replace_reset_code(
        &self,
        code: &ResetCode,
        mail: Option<&OutboxItem>,
    ) -> Result<u64, StoreError> {
        let (code, mail) = (code.clone(), mail.cloned());
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            tx.execute(
                "INSERT OR REPLACE INTO reset_codes
                 (user_id, digest, credential_version, issued_at, expires_at, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    code.user_id.as_str(),
                    code.digest,
                    code.credential_version.0 as i64,
                    code.issued_at,
                    code.expires_at,
                    code.attempts
                ],
            )
            .map_err(unavailable)?;
            let sequence: i64 = tx
                .query_row(
                    "UPDATE users SET sequence = sequence + 1, changed_at = ?1 WHERE id = ?2 RETURNING sequence",
                    params![code.issued_at, code.user_id.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?
                .ok_or(StoreError::Conflict("no such user"))?;
            if let Some(m) = &mail {
                insert_outbox(&tx, m)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(sequence as u64)
        })
        .await
    }

    async fn reset_code(&self, user: &UserId) -> Result<Option<ResetCode>, StoreError> {
        let user = user.clone();
        self.run(move |c| {
            c.query_row(
                "SELECT digest, credential_version, issued_at, expires_at, attempts
                 FROM reset_codes WHERE user_id = ?1",
                [user.as_str()],
                |r| {
                    Ok(ResetCode {
                        user_id: user.clone(),
                        digest: r.get(0)?,
                        credential_version: CredentialVersion(r.get::<_, i64>(1)? as u64),
                        issued_at: r.get(2)?,
                        expires_at: r.get(3)?,
                        attempts: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(unavailable)
        })
        .await
    }

    async fn claim_code_attempt(
        &self,
        user: &UserId,
        issued_at: i64,
        max: u32,
    ) -> Result<(), StoreError> {
        let user = user.clone();
        self.run(move |c| {
            let claimed = c
                .execute(
                    "UPDATE reset_codes SET attempts = attempts + 1
                     WHERE user_id = ?1 AND issued_at = ?2 AND attempts < ?3",
                    params![user.as_str(), issued_at, max],
                )
                .map_err(unavailable)?;
            if claimed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict("no attempt left"))
            }
        })
        .await
    }

    async fn refresh_token(
        &self,
        digest: &SecretDigest,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let d = digest.clone();
        self.run(move |c| {
            let row = c
                .query_row(
                    "SELECT user_id, credential_version, client_id, scope, issued_at, expires_at
                     FROM refresh_tokens WHERE digest = ?1",
                    [d.as_str()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    },
                )
                .optional()
                .map_err(unavailable)?;
            row.map(
                |(user_id, version, client_id, scope, issued_at, expires_at)| {
                    Ok(RefreshToken {
                        digest: d.clone(),
                        user_id: UserId::parse(&user_id)
                            .ok_or_else(|| StoreError::Corrupt("refresh token's user id".into()))?,
                        credential_version: CredentialVersion(version as u64),
                        client_id,
                        scope,
                        issued_at,
                        expires_at,
                    })
                },
            )
            .transpose()
        })
        .await
    }

    async fn insert_decoy(&self, grant: &ResetGrant) -> Result<(), StoreError> {
        let g = grant.clone();
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            tx.execute(
                "INSERT INTO grants (digest, user_id, credential_version, issued_at, expires_at, used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                params![g.digest.as_str(), g.user_id.as_str(), g.credential_version.0 as i64, g.issued_at, g.expires_at],
            )
            .map_err(unavailable)?;
            tx.execute(
                "INSERT INTO decoys (id, created_at) VALUES (?1, ?2)",
                params![g.digest.as_str(), g.issued_at],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn count_hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
    ) -> Result<u64, StoreError> {
        let key = key.to_string();
        self.run(move |c| {
            let hits: i64 = c
                .query_row(
                    "INSERT INTO rate_counters (key, window_start, hits, expires_at) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1
                     RETURNING hits",
                    params![key, window_start, expires_at],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            Ok(hits as u64)
        })
        .await
    }

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
            let mut stmt = c
                .prepare(
                    "SELECT id, action, outcome, at, source_ip, user_agent, expires_at FROM audit
                     WHERE user_id = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![user.as_str(), limit as i64], |r| {
                    Ok(AuditEvent {
                        id: r.get(0)?,
                        user_id: user.clone(),
                        action: r.get(1)?,
                        outcome: r.get(2)?,
                        at: r.get(3)?,
                        source_ip: r.get(4)?,
                        user_agent: r.get(5)?,
                        expires_at: r.get(6)?,
                    })
                })
                .map_err(unavailable)?;
            rows.map(|r| r.map_err(unavailable)).collect()
        })
        .await
    }

    async fn enqueue_mail(&self, mail: &OutboxItem) -> Result<(), StoreError> {
        let m = mail.clone();
        self.run(move |c| insert_outbox(c, &m)).await
    }

    async fn pending_mail(&self, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        self.run(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT id, sealed, created_at FROM outbox ORDER BY created_at, rowid LIMIT ?1",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok(OutboxItem {
                        id: r.get(0)?,
                        sealed: r.get(1)?,
                        created_at: r.get(2)?,
                    })
                })
                .map_err(unavailable)?;
            rows.map(|r| r.map_err(unavailable)).collect()
        })
        .await
    }

    async fn mail_pending(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.run(move |c| {
            c.query_row("SELECT 1 FROM outbox WHERE id = ?1", [&id], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
                .map_err(unavailable)
        })
        .await
    }

    async fn mail_delivered(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.run(move |c| {
            c.execute("DELETE FROM outbox WHERE id = ?1", [&id])
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}
