//! Every function's build script (`build = "../init_layout.rs"`).
//!
//! Release builds for Linux link the code that `main` runs before it asks
//! for its first event into one output section ahead of the rest of the
//! code (init_layout.ld, written by `scripts/bench --init-layout`). Left
//! spread through a 4 MiB `.text`, that code made init touch twice as many
//! code pages, each a page fault, and the kernel map about four times as
//! much code around them (docs/architecture.md, "Init layout"). The script
//! only orders sections: a stale list costs speed, never correctness.
//! Debug builds (the tests) link as before.

use std::env;
use std::path::Path;

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let script = Path::new(&manifest_dir).join("..").join("init_layout.ld");
    println!("cargo::rerun-if-changed={}", script.display());
    // `scripts/bench --init-layout` profiles builds without it: valgrind
    // names no function in an executable section other than `.text`.
    println!("cargo::rerun-if-env-changed=REKEY_BUILD_INIT_LAYOUT");
    let wanted = env::var("REKEY_BUILD_INIT_LAYOUT").map_or(true, |v| v != "off");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if wanted && release && linux && script.exists() {
        // `-T` with `INSERT BEFORE .text` adds one output section to the
        // linker's own layout (lld, as cargo lambda's zig links, and GNU ld).
        println!("cargo::rustc-link-arg-bins=-T");
        println!("cargo::rustc-link-arg-bins={}", script.display());
    }
}
