//! rekeyctl: rekey's local server and operator commands.

mod blocklist;
mod local;
mod operator;
mod serve;
mod signing_key;
mod webhooks;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use rekey::crypto::{API_KEY_PREFIX, BearerSecret};
use rekey::domain::{ApiKey, EmailAddress, OrgBinding, Scope, User, UserId, now};
use rekey::password::{CredentialHasher, NewPassword};
use rekey::store::Store;

#[derive(Parser)]
#[command(
    name = "rekeyctl",
    version,
    about = "rekey's local server and operator commands"
)]
#[command(after_help = "Examples:
  rekeyctl serve                                  # local server on 127.0.0.1:3000
  rekeyctl user add --email ada@example.com       # prints the new user's id
  rekeyctl key create --scope reset:request       # prints the new API key
  rekeyctl user import users.jsonl                # JSON lines from another system
  rekeyctl user disable ada@example.com           # no more reset mail or links
  rekeyctl key list                               # ids, names, scopes, state
  rekeyctl webhook test                           # a signed test event to each endpoint
  REKEY_TABLE=rekey rekeyctl table create         # the DynamoDB table
  REKEY_TABLE=rekey rekeyctl --dynamodb user list # any command against DynamoDB")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// Folder for the embedded store, secrets and the mail outbox.
    #[arg(long, global = true, env = "REKEY_DATA_DIR", default_value = ".rekey")]
    pub data_dir: PathBuf,
    /// Use DynamoDB (table REKEY_TABLE, AWS settings from the environment,
    /// AWS_ENDPOINT_URL for a local endpoint) instead of the embedded store.
    #[arg(long, global = true)]
    pub dynamodb: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every route locally, from the same code as the Lambdas.
    Serve(serve::ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage the DynamoDB table.
    #[command(subcommand)]
    Table(TableCommand),
    /// Manage the local access-token signing keys.
    #[command(subcommand)]
    SigningKey(signing_key::SigningKeyCommand),
    /// Signed change notifications (Standard Webhooks).
    #[command(subcommand)]
    Webhook(webhooks::WebhookCommand),
    /// Password blocklists (build one to replace or extend the bundled list).
    #[command(subcommand)]
    Password(blocklist::PasswordCommand),
    /// An account's audit trail, newest first: time, action, outcome,
    /// source address, user agent (tab-separated).
    #[command(
        after_help = "Examples:\n  rekeyctl audit ada@example.com\n  rekeyctl audit 3f2c…-id --limit 200"
    )]
    Audit {
        /// The user's id or email address.
        user: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account; prints its id alone on stdout.
    #[command(
        after_help = "Example:\n  echo 'Correct-Horse-9-Battery' | rekeyctl user add --email ada@example.com --name Ada --password-stdin"
    )]
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        org: Option<String>,
        /// The id to use (default: a new UUID).
        #[arg(long)]
        id: Option<String>,
        /// Read an initial password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts: id, email, name, state (tab-separated).
    #[command(
        after_help = "Examples:\n  rekeyctl user list\n  REKEY_TABLE=rekey rekeyctl --dynamodb user list"
    )]
    List,
    /// Import accounts from JSON lines, one object per line:
    /// {"email": ..., "name"?, "org"?, "id"?, "locale"?, "password_hash"?}.
    ///
    /// password_hash is stored as given and may be argon2 ($argon2id$...,
    /// $argon2i$..., at the current REKEY_ARGON2_* parameters), bcrypt ($2a$,
    /// $2b$, $2y$, cost up to REKEY_LEGACY_BCRYPT_COST) or Django
    /// pbkdf2_sha256$<iterations>$<salt>$<hash> (up to
    /// REKEY_LEGACY_PBKDF2_ITERATIONS); it is upgraded to argon2id
    /// at the user's next password verification. A bad line (invalid JSON or
    /// field, malformed hash, email or id taken) is reported with its line
    /// number and skipped; the import goes on. Progress shows on stderr when
    /// it is a terminal; the summary `imported N, skipped M` always does.
    ///
    /// Exit status: 0 if every line was imported, 1 otherwise.
    #[command(
        after_help = "Examples:\n  rekeyctl user import users.jsonl\n  gunzip -c export.jsonl.gz | rekeyctl user import -\n  REKEY_TABLE=rekey rekeyctl --dynamodb user import users.jsonl\n\nA line:\n  {\"email\": \"ada@example.com\", \"name\": \"Ada\", \"locale\": \"de\", \"password_hash\": \"$2b$12$...\"}"
    )]
    Import {
        /// The JSON-lines file, or - for stdin.
        file: PathBuf,
    },
    /// Show one account's fields (the password only as its hash scheme:
    /// argon2id, argon2i, bcrypt, pbkdf2_sha256 or none).
    #[command(
        after_help = "Examples:\n  rekeyctl user show ada@example.com\n  rekeyctl user show 3f2c5e1a-..."
    )]
    Show {
        /// The user's id or email address.
        user: String,
    },
    /// Disable an account: no reset mail is sent to it, and its outstanding
    /// links, codes and signed links stop working.
    #[command(after_help = "Example:\n  rekeyctl user disable ada@example.com")]
    Disable {
        /// The user's id or email address.
        user: String,
    },
    /// Enable a disabled account again.
    #[command(after_help = "Example:\n  rekeyctl user enable ada@example.com")]
    Enable {
        /// The user's id or email address.
        user: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an API key; prints it alone on stdout. Only its digest is stored.
    #[command(
        after_help = "Examples:\n  rekeyctl key create --scope reset:request --name storefront --org acme\n  rekeyctl key create --scope users:admin --name operator --all-orgs\n\nWithout --org or --all-orgs the key acts for the default organisation\n(REKEY_DEFAULT_ORG) only."
    )]
    Create {
        /// reset:request, users:write or users:admin; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<Scope>,
        #[arg(long, default_value = "unnamed")]
        name: String,
        /// The organisation whose users the key acts on.
        #[arg(long, conflicts_with = "all_orgs", value_parser = parse_org)]
        org: Option<String>,
        /// An operator's key: acts on the users of every organisation.
        #[arg(long)]
        all_orgs: bool,
    },
    /// List keys: id (the start of the key's SHA-256), name, scopes,
    /// organisation (`*` for all, `(default)` for the default one),
    /// created, state (tab-separated). Keys themselves are never stored.
    #[command(after_help = "Example:\n  rekeyctl key list")]
    List,
    /// Revoke a key by its id from `key list` (at least 8 hex characters,
    /// enough to name one key). Requests with it get 401 from then on.
    #[command(after_help = "Example:\n  rekeyctl key revoke 3fa9c2d81b07")]
    Revoke {
        /// The key's id (a unique prefix of its digest).
        id: String,
    },
}

#[derive(Subcommand)]
enum TableCommand {
    /// Create the table (pk/sk, TTL, NEW_IMAGE stream) as template.yaml does,
    /// at the endpoint the AWS environment names.
    #[command(
        after_help = "Example:\n  AWS_ENDPOINT_URL=http://127.0.0.1:5000 REKEY_TABLE=rekey rekeyctl table create"
    )]
    Create {
        #[arg(long, env = "REKEY_TABLE")]
        table: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    rekey::telemetry::init_cli();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rekeyctl: {message}{}", hint(&message));
            ExitCode::FAILURE
        }
    }
}

/// How to fix what the AWS SDK reported, when the message alone does not say.
fn hint(message: &str) -> &'static str {
    if message.contains("ResourceNotFoundException") {
        "\nhint: the table does not exist at this endpoint: check REKEY_TABLE and AWS_ENDPOINT_URL/AWS_REGION, or create it with `rekeyctl --dynamodb table create`"
    } else if message.contains("timed out") || message.contains("dispatch failure") {
        "\nhint: DynamoDB did not answer: check AWS_ENDPOINT_URL (a local endpoint must be running), AWS_REGION and the network"
    } else if message.contains("credentials") {
        "\nhint: set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    } else {
        ""
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args).await,
        Command::SigningKey(cmd) => signing_key::run(&cli.global, cmd),
        Command::Webhook(cmd) => webhooks::run(&cli.global, cmd).await,
        Command::Password(cmd) => blocklist::run(cmd),
        Command::User(cmd) => {
            let store = local::open_operator_store(&cli.global).await?;
            match cmd {
                UserCommand::Add {
                    email,
                    name,
                    org,
                    id,
                    password_stdin,
                } => {
                    let password = if password_stdin {
                        let mut line = String::new();
                        std::io::stdin()
                            .read_to_string(&mut line)
                            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
                        Some(line.lines().next().unwrap_or_default().to_string())
                    } else {
                        None
                    };
                    let config = local::config(&cli.global, None)?;
                    let id = add_user(&*store, &config, &email, name, org, id, password.as_deref())
                        .await?;
                    println!("{id}");
                    Ok(())
                }
                UserCommand::Import { file } => {
                    let input: Box<dyn std::io::BufRead> = if file.as_os_str() == "-" {
                        Box::new(std::io::BufReader::new(std::io::stdin()))
                    } else {
                        Box::new(std::io::BufReader::new(
                            std::fs::File::open(&file).map_err(|e| {
                                format!("cannot open {}: {e} (use - for stdin)", file.display())
                            })?,
                        ))
                    };
                    let config = local::config(&cli.global, None)?;
                    let hasher =
                        CredentialHasher::with_legacy(config.hash_params, config.legacy_hashes);
                    let (imported, skipped) = operator::import(&*store, &hasher, input).await?;
                    eprintln!("imported {imported}, skipped {skipped}");
                    if skipped > 0 {
                        return Err(format!(
                            "{skipped} line(s) were not imported (reasons above); fix them and import those lines again"
                        ));
                    }
                    Ok(())
                }
                UserCommand::Show { user } => {
                    let u = operator::find_user(&*store, &user).await?;
                    println!("{}", operator::show_user(&u));
                    Ok(())
                }
                UserCommand::Disable { user } => {
                    let config = local::config(&cli.global, None)?;
                    let reset = rekey::ResetService::new(&config, store.clone());
                    operator::disable(&reset, &*store, &user).await
                }
                UserCommand::Enable { user } => operator::set_disabled(&*store, &user, false).await,
                UserCommand::List => {
                    for u in store.users().await.map_err(|e| e.to_string())? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            u.id,
                            u.email.as_str(),
                            u.name.as_deref().unwrap_or("-"),
                            if u.disabled { "disabled" } else { "active" }
                        );
                    }
                    Ok(())
                }
            }
        }
        Command::Key(cmd) => {
            let store = local::open_operator_store(&cli.global).await?;
            match cmd {
                KeyCommand::Create {
                    scopes,
                    name,
                    org,
                    all_orgs,
                } => {
                    let org = match (org, all_orgs) {
                        (_, true) => OrgBinding::AllOrgs,
                        (Some(org), false) => OrgBinding::Org(org),
                        (None, false) => OrgBinding::DefaultOrg,
                    };
                    println!("{}", create_key(&*store, scopes, name, org).await?.expose());
                    Ok(())
                }
                KeyCommand::List => {
                    for k in store.api_keys().await.map_err(|e| e.to_string())? {
                        println!("{}", operator::key_line(&k));
                    }
                    Ok(())
                }
                KeyCommand::Revoke { id } => operator::revoke_key(&*store, &id).await,
            }
        }
        Command::Audit { user, limit } => {
            let store = local::open_operator_store(&cli.global).await?;
            let found = operator::find_user(&*store, &user).await?;
            for e in store
                .audit_events(&found.id, limit)
                .await
                .map_err(|e| e.to_string())?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    rekey::mail::format_time(e.at),
                    e.action,
                    e.outcome,
                    e.source_ip.as_deref().unwrap_or("-"),
                    e.user_agent.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        Command::Table(TableCommand::Create { table }) => {
            let store = rekey::store::dynamo::DynamoStore::connect_for_operator(&table).await;
            store
                .create_table()
                .await
                .map_err(|e| format!("cannot create table {table}: {e}"))?;
            eprintln!("table {table} created (pk/sk, TTL on `ttl`, NEW_IMAGE stream)");
            Ok(())
        }
    }
}

pub async fn add_user(
    store: &dyn Store,
    config: &rekey::Config,
    email: &str,
    name: Option<String>,
    org: Option<String>,
    id: Option<String>,
    password: Option<&str>,
) -> Result<UserId, String> {
    let email = EmailAddress::parse(email)
        .ok_or_else(|| format!("{email:?} is not a valid email address"))?;
    let id = match id {
        Some(raw) => UserId::parse(&raw).ok_or_else(|| {
            format!("{raw:?} is not a valid user id: use 1 to 128 of A-Z a-z 0-9 - _ . @")
        })?,
        None => UserId::generate(),
    };
    let mut user = User::new(id.clone(), email);
    user.name = name;
    user.org = org;
    if let Some(raw) = password {
        let password = NewPassword::normalize(raw);
        let who = rekey::password::PasswordContext {
            email: Some(user.email.as_str()),
            name: user.name.as_deref(),
        };
        let failed = config
            .policy
            .check(rekey::password::Profile::Nist, &password, who);
        if !failed.is_empty() {
            let rules: Vec<String> = failed
                .iter()
                .map(|v| format!("{}: {}", v.rule.name(), v.message))
                .collect();
            return Err(format!(
                "the password does not meet the policy:\n  {}",
                rules.join("\n  ")
            ));
        }
        let hasher = CredentialHasher::new(config.hash_params);
        user.password_hash = Some(
            hasher
                .hash_off_executor(password)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    store.insert_user(&user).await.map_err(|e| match e {
        rekey::StoreError::Conflict(_) => format!(
            "a user with id {} or email {} exists already",
            id,
            user.email.as_str()
        ),
        other => other.to_string(),
    })?;
    Ok(id)
}

/// An organisation name for `--org`: not empty, and not `*`, which the
/// stores use for "every organisation".
fn parse_org(raw: &str) -> Result<String, String> {
    match raw.trim() {
        "" => Err("an organisation name must not be empty".into()),
        OrgBinding::ALL_ORGS => Err("use --all-orgs for a key of every organisation".into()),
        org => Ok(org.to_string()),
    }
}

pub async fn create_key(
    store: &dyn Store,
    mut scopes: Vec<Scope>,
    name: String,
    org: OrgBinding,
) -> Result<BearerSecret, String> {
    scopes.sort();
    scopes.dedup();
    let secret = BearerSecret::generate(API_KEY_PREFIX);
    let key = ApiKey {
        digest: secret.digest(),
        name,
        scopes,
        created_at: now(),
        revoked: false,
        org,
    };
    store
        .insert_api_key(&key)
        .await
        .map_err(|e| e.to_string())?;
    Ok(secret)
}

pub type SharedStore = Arc<dyn Store>;
