//! `rekeyctl signing-key`: the access-token signing keys in the data dir
//! (`<data-dir>/signing-keys/`), and their two-step rotation. A running
//! `rekeyctl serve` picks a rotation up when restarted.

use clap::Subcommand;
use rekey::access_token::local::{LocalKeyDir, RotationStep};

use crate::Global;
use crate::failure::Failure;

#[derive(Subcommand)]
pub enum SigningKeyCommand {
    /// List the keys: kid (RFC 7638 thumbprint), state (current, next,
    /// previous), created (tab-separated).
    #[command(after_help = "Example:\n  rekeyctl signing-key list")]
    List,
    /// One rotation step. With no next key, makes one: it is published in
    /// the JWKS but does not sign. Run again once consumers' caches hold it
    /// (the discovery max-age, 300 s, plus their own JWKS caching): the next
    /// key then signs and the current one stays published as previous until
    /// the next promotion, which replaces it: leave at least the access-token
    /// lifetime between two promotions. Restart `rekeyctl serve` after each
    /// step.
    #[command(
        after_help = "Example:\n  rekeyctl signing-key rotate   # publish a next key\n  # wait for caches, restart serve\n  rekeyctl signing-key rotate   # the next key signs"
    )]
    Rotate,
}

pub fn run(g: &Global, cmd: SigningKeyCommand) -> Result<(), Failure> {
    let dir = LocalKeyDir::in_data_dir(&g.data_dir);
    match cmd {
        SigningKeyCommand::List => {
            for key in dir.list().map_err(Failure::of)? {
                let created = key
                    .created
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}",
                    key.kid,
                    key.state.as_str(),
                    rekey::mail::format_time(rekey::domain::UnixTime::from_secs(created))
                );
            }
            Ok(())
        }
        SigningKeyCommand::Rotate => {
            dir.ensure_current().map_err(Failure::of)?;
            match dir.rotate().map_err(Failure::of)? {
                RotationStep::Published { next } => {
                    println!("published next key {next}; it signs after the next rotate");
                }
                RotationStep::Promoted { current, previous } => {
                    println!("key {current} now signs; {previous} stays published as previous");
                }
            }
            eprintln!("restart rekeyctl serve to use the keys as they are now");
            Ok(())
        }
    }
}
