//! The SQLite schema. Existing data dirs open with it: tables are only
//! ever created if absent, and columns added since are added by
//! `ADDED_COLUMNS` when missing.

pub(super) const SCHEMA: &str = "
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
    revoked INTEGER NOT NULL DEFAULT 0,
    org TEXT
);
CREATE TABLE IF NOT EXISTS grants (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    credential_version INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    purpose TEXT,
    origin TEXT
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
    expires_at INTEGER NOT NULL,
    family TEXT,
    used_at INTEGER
);
CREATE TABLE IF NOT EXISTS refresh_families (
    id TEXT PRIMARY KEY,
    revoked_at INTEGER NOT NULL
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
CREATE TABLE IF NOT EXISTS intake (
    id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// Columns added after a table was first created: (table, column, its
/// definition). A data dir from before gets them on open; their NULL in
/// existing rows reads as the value the record had before the column.
pub(super) const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    // A claim on the next password change, for a directory that keeps
    // passwords outside the store (see `claim_password_change`).
    ("users", "change_holder", "TEXT"),
    ("users", "change_until", "INTEGER"),
    ("users", "change_version", "INTEGER"),
    // NULL: no phone number; texts go only to a verified one.
    ("users", "phone", "TEXT"),
    ("users", "phone_verified", "INTEGER NOT NULL DEFAULT 0"),
    // NULL: the default organisation.
    ("api_keys", "org", "TEXT"),
    // NULL: a grant of before purposes, redeemable as a link or a recovery.
    ("grants", "purpose", "TEXT"),
    // NULL: no destination recorded, no Origin check.
    ("grants", "origin", "TEXT"),
    // NULL: a token from before families, a family of its own.
    ("refresh_tokens", "family", "TEXT"),
    // NULL: not rotated yet.
    ("refresh_tokens", "used_at", "INTEGER"),
];

/// Adds each of `ADDED_COLUMNS` its table lacks.
pub(super) fn add_missing_columns(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    for (table, column, definition) in ADDED_COLUMNS {
        let present: bool = conn.query_row(
            &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {definition}"
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::crypto::SecretDigest;
    use crate::domain::{GrantPurpose, OrgBinding};
    use crate::store::embedded::EmbeddedStore;
    use crate::store::{ApiKeyStore, CredentialStore};

    #[tokio::test]
    async fn a_data_dir_from_before_key_organisations_grant_purposes_and_token_families_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rekey.db");
        {
            let old = rusqlite::Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE api_keys (
                    digest TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    revoked INTEGER NOT NULL DEFAULT 0
                );
                INSERT INTO api_keys VALUES ('ab', 'old', '[\"reset:request\"]', 1, 0);
                CREATE TABLE grants (
                    digest TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    credential_version INTEGER NOT NULL,
                    issued_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER
                );
                INSERT INTO grants VALUES ('cd', 'ada-1', 0, 1, 2, NULL);
                CREATE TABLE refresh_tokens (
                    digest TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    credential_version INTEGER NOT NULL,
                    client_id TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    issued_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                INSERT INTO refresh_tokens VALUES ('ef', 'ada-1', 0, 'rekey', 'account', 1, 2);",
            )
            .unwrap();
        }
        for _ in 0..2 {
            // Twice: the second open finds the column already there.
            let store = EmbeddedStore::open(&path).unwrap();
            let key = store
                .api_key(&SecretDigest::from_hex("ab".into()))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(key.org, OrgBinding::DefaultOrg);
            // A grant from before: no purpose (a link or a recovery), no
            // origin to check.
            let grant = store
                .grant(&SecretDigest::from_hex("cd".into()))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((grant.purpose, grant.origin.as_deref()), (None, None));
            assert!(grant.serves(GrantPurpose::AccountRecovery));
            assert!(grant.serves(GrantPurpose::ResetLink));
            // A refresh token from before families: a family of its own,
            // named by its digest, not rotated.
            let token = store
                .refresh_token(&SecretDigest::from_hex("ef".into()))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((token.family.as_str(), token.used_at), ("ef", None));
        }
    }
}
