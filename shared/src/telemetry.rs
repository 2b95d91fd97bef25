//! Logging setup. Log lines carry user ids and keyed email references, never
//! tokens, codes, passwords or addresses.

/// For rekeyctl: human-readable lines on stderr, `RUST_LOG` to filter
/// (default `info`). stdout stays free for command output.
pub fn init_cli() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
