//! The local data dir: the embedded store, the generated service secret,
//! the outbox folder; and configuration with local defaults.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rekey::config::{Config, EnvReader, StoreSettings};
use rekey::crypto::ServiceSecret;
use rekey::store::Store;
use rekey::store::dynamo::DynamoStore;
use rekey::store::embedded::EmbeddedStore;

use crate::Global;
use crate::failure::Failure;

pub fn database_path(dir: &Path) -> PathBuf {
    dir.join("rekey.db")
}

pub fn outbox_dir(dir: &Path) -> PathBuf {
    dir.join("outbox")
}

pub async fn open_store(g: &Global) -> Result<Arc<dyn Store>, Failure> {
    open(g, false).await
}

/// As `open_store`, for one-off operator commands: DynamoDB calls may take
/// longer than a request's would be allowed to.
pub async fn open_operator_store(g: &Global) -> Result<Arc<dyn Store>, Failure> {
    open(g, true).await
}

async fn open(g: &Global, operator: bool) -> Result<Arc<dyn Store>, Failure> {
    if g.dynamodb {
        let table = StoreSettings::from_env_if_set()
            .map(|s| s.table)
            .ok_or_else(|| {
                "--dynamodb needs REKEY_TABLE (the table name) in the environment, e.g. REKEY_TABLE=rekey"
                    .to_string()
            })?;
        let store = if operator {
            DynamoStore::connect_for_operator(&table).await
        } else {
            DynamoStore::connect(&table).await
        };
        return Ok(Arc::new(store?));
    }
    let path = database_path(&g.data_dir);
    EmbeddedStore::open(&path)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| {
            Failure::because(
                format!("cannot open the embedded store at {}", path.display()),
                e,
            )
        })
}

/// The service secret: `REKEY_SECRET` if set, else `<data-dir>/secret`,
/// generated (mode 0600) on first use.
fn local_secret(dir: &Path) -> Result<String, Failure> {
    if let Some(s) = EnvReader::process().optional("REKEY_SECRET") {
        return Ok(s);
    }
    let path = dir.join("secret");
    match std::fs::read_to_string(&path) {
        Ok(s) => return Ok(s.trim().to_string()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("cannot read {}: {e}", path.display()).into());
        }
        Err(_) => {}
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (_, encoded) = ServiceSecret::generate();
    write_private(&path, &encoded).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("generated a service secret in {}", path.display());
    Ok(encoded)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// Configuration from the environment with local defaults: the secret from
/// the data dir, links pointing at `reset_url` (the local server).
pub fn config(g: &Global, reset_url: Option<String>) -> Result<Config, Failure> {
    let secret = local_secret(&g.data_dir)?;
    let reset_url =
        reset_url.unwrap_or_else(|| "http://127.0.0.1:3000/reset?token={token}".to_string());
    // Signed links open the same hosted page (GET /reset) while the reset
    // links do; with REKEY_RESET_URL set, Config derives them from it.
    let own_links = !EnvReader::process().is_set("REKEY_RESET_URL");
    let signed_url = reset_url
        .split_once("/reset?")
        .filter(|_| own_links)
        .map(|(origin, _)| {
            format!(
                "{origin}/reset?user_id={{user_id}}&timestamp={{timestamp}}&signature={{signature}}"
            )
        });
    // Tokens name the local server as their issuer, so discovery's
    // jwks_uri points back at it.
    let issuer = reset_url
        .split_once("/reset?")
        .map(|(origin, _)| origin.to_string());
    // The demo signs in through the recovery client: open the password
    // grant to it unless the environment says otherwise (serve says so at
    // start).
    let mut env = EnvReader::process_or(move |k| match k {
        "REKEY_SECRET" => Some(secret.clone()),
        "REKEY_RESET_URL" => Some(reset_url.clone()),
        "REKEY_SIGNED_RESET_URL" => signed_url.clone(),
        "REKEY_TOKEN_ISSUER" => issuer.clone(),
        // Local texts are files in the outbox folder, free to send: every
        // country, unless the developer narrows it.
        "REKEY_SMS_COUNTRY_CALLING_CODES" => Some("+1,+2,+3,+4,+5,+6,+7,+8,+9".into()),
        "REKEY_OAUTH_CLIENT_FIRST_PARTY" => Some("true".into()),
        _ => None,
    });
    let config = Config::read(&mut env);
    env.finish_with(config).map_err(Failure::of)
}
