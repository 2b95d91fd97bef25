//! rekeyctl's command line: the commands and their arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rekey::domain::Scope;

use crate::{serve, signing_key, webhooks};

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
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
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
pub enum Command {
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
    Password(crate::blocklist::PasswordCommand),
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
pub enum UserCommand {
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
    /// $argon2i$...), bcrypt ($2a$, $2b$, $2y$) or Django
    /// pbkdf2_sha256$<iterations>$<salt>$<hash>; it is upgraded to argon2id
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
pub enum KeyCommand {
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
        #[arg(long, conflicts_with = "all_orgs", value_parser = crate::accounts::parse_org)]
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
pub enum TableCommand {
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
