//! `rekeyctl password blocklist`: turns a list of passwords, or of SHA-1s
//! (a Pwned Passwords download), into the filter the functions load
//! (`REKEY_PASSWORD_BLOCKLIST_FILE`), the same structure as the list
//! compiled into them.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use rekey::password::blocklist::{Blocklist, format};

#[derive(Subcommand)]
pub enum PasswordCommand {
    /// Password blocklists.
    #[command(subcommand)]
    Blocklist(BlocklistCommand),
}

#[derive(Subcommand)]
pub enum BlocklistCommand {
    /// Build a blocklist file from FILE: one password a line (compared
    /// after NFKC and case folding), or one SHA-1 a line, in hex, with an
    /// optional `:count` (a Pwned Passwords download, compared as typed).
    /// Blank lines and lines that are not UTF-8 are skipped and counted.
    #[command(
        after_help = "Examples:\n  rekeyctl password blocklist build company-words.txt\n  rekeyctl password blocklist build pwned-top.txt --top 10000000 --out /opt/rekey/blocklist.rkbl"
    )]
    Build {
        /// The list (`-` for standard input).
        file: PathBuf,
        /// Where to write the filter; FILE with the extension `.rkbl` by default.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Only the first N entries (lists sorted by frequency, most common first).
        #[arg(long)]
        top: Option<usize>,
    },
    /// Whether the password on standard input's first line is in a list
    /// file (as the functions compare it: as typed, and folded).
    #[command(
        after_help = "Example:\n  printf 'hunter2\\n' | rekeyctl password blocklist check blocklist.rkbl"
    )]
    Check {
        /// A file written by `build`.
        list: PathBuf,
    },
}

pub fn run(cmd: PasswordCommand) -> Result<(), String> {
    let PasswordCommand::Blocklist(cmd) = cmd;
    match cmd {
        BlocklistCommand::Build { file, out, top } => build(&file, out, top),
        BlocklistCommand::Check { list } => {
            let list = Blocklist::load(&list).map_err(|e| e.to_string())?;
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let password = line.trim_end_matches(['\r', '\n']);
            let listed = list.contains(password) || list.contains(&format::fold(password));
            println!("{}", if listed { "listed" } else { "not listed" });
            Ok(())
        }
    }
}

fn build(file: &Path, out: Option<PathBuf>, top: Option<usize>) -> Result<(), String> {
    let input: Box<dyn Read> = if file == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?)
    };
    let out = match out {
        Some(out) => out,
        None if file == Path::new("-") => {
            return Err("--out is needed when the list is read from standard input".into());
        }
        None => file.with_extension("rkbl"),
    };
    let mut reader = BufReader::new(input);
    let (mut keys, mut skipped, mut raw) = (Vec::new(), 0usize, Vec::new());
    while top.is_none_or(|n| keys.len() < n) {
        raw.clear();
        let read = reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        if read == 0 {
            break;
        }
        let line = match std::str::from_utf8(&raw) {
            Ok(line) => line.trim_end_matches('\n'),
            Err(_) => {
                skipped += 1;
                continue;
            }
        };
        match format::line_key(line) {
            Some(key) => keys.push(key),
            None => skipped += 1,
        }
    }
    let read = keys.len();
    let bytes = format::build(keys).map_err(|e| format!("{}: {e}", file.display()))?;
    let list = Blocklist::from_bytes(&bytes).map_err(|e| e.to_string())?;
    let mut f = std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    f.write_all(&bytes)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "{}: {} distinct entries of {read} read ({skipped} lines skipped), {} bytes",
        out.display(),
        list.entries(),
        bytes.len()
    );
    Ok(())
}
