//! Bundles the mail templates into the crate: `templates/<locale>/<name>`
//! and, when `REKEY_TEMPLATE_DIR` is set at build time, the same layout from
//! that directory on top (an operator's overrides and extra locales, for the
//! Lambda functions, which have no template directory at run time).
//!
//! Also compiles the bundled password blocklist (shared/data/common-passwords.txt)
//! into the two filters `password::blocklist` embeds, with the same code the
//! crate and `rekeyctl password blocklist build` use.

#![expect(
    clippy::expect_used,
    reason = "a build script reports a broken template tree by panicking"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/password/blocklist/format.rs"]
#[allow(dead_code)]
mod blocklist_format;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    bundle_blocklist(&manifest);
    let mut entries = Vec::new();
    collect(&manifest.join("templates"), &mut entries);
    println!("cargo:rerun-if-env-changed=REKEY_TEMPLATE_DIR");
    if let Some(dir) = std::env::var_os("REKEY_TEMPLATE_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "REKEY_TEMPLATE_DIR={} is not a directory: unset it, or point it at a folder of <locale>/<template> files",
            dir.display()
        );
        collect(&dir, &mut entries);
    }
    let mut code = String::from(
        "/// (locale, template name, contents); later entries override earlier ones.\n\
         pub(crate) static BUNDLED: &[(&str, &str, &str)] = &[\n",
    );
    for (locale, name, path) in &entries {
        writeln!(
            code,
            "    ({locale:?}, {name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("templates.rs"), code).expect("cannot write templates.rs");
}

/// `<dir>/<locale>/<name>` files, sorted, for every locale directory.
fn collect(dir: &Path, entries: &mut Vec<(String, String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut locales: Vec<PathBuf> = read(dir).into_iter().filter(|p| p.is_dir()).collect();
    locales.sort();
    for locale_dir in locales {
        println!("cargo:rerun-if-changed={}", locale_dir.display());
        let locale = file_name(&locale_dir).to_ascii_lowercase();
        if locale.starts_with('.') {
            continue;
        }
        let mut files: Vec<PathBuf> = read(&locale_dir)
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
            let name = file_name(&file);
            if !name.starts_with('.') {
                entries.push((locale.clone(), name, file));
            }
        }
    }
}

fn read(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read template directory {}: {e}", dir.display()))
        .map(|e| e.expect("readable directory entry").path())
        .collect()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .expect("a directory entry has a name")
        .to_string_lossy()
        .into_owned()
}

/// The 100 000 entries of the bundled list, and its first 10 000 (the
/// estimate's cheaper tier), as blocklist files in OUT_DIR.
fn bundle_blocklist(manifest: &Path) {
    let source = manifest.join("data/common-passwords.txt");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
    let keys: Vec<u64> = text
        .lines()
        .filter_map(blocklist_format::line_key)
        .collect();
    assert_eq!(
        keys.len(),
        100_000,
        "{} should list 100 000 passwords",
        source.display()
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    for (name, take) in [
        ("common-passwords-100k.rkbl", 100_000),
        ("common-passwords-10k.rkbl", 10_000),
    ] {
        let file = blocklist_format::build(keys[..take].to_vec()).expect("the bundled list builds");
        std::fs::write(out.join(name), file).expect("cannot write the bundled blocklist");
    }
}
