//! The published HTTP contracts rekey speaks. Each module holds its request
//! and response types and one [`Dialect`]: the one place it maps a
//! [`Failure`] to its error responses. Every handler answers through
//! [`answer`], and every public (keyless) one starts with [`public_caller`]
//! or [`public_json`].

pub mod account;
pub mod discovery;
pub mod django;
pub mod oauth;
pub mod page;
pub mod payabli;
pub mod unleash;
pub mod zitadel;

mod dispatch;
mod failure;
mod public;

pub use failure::Failure;
pub(crate) use failure::{Dialect, answer};
pub(crate) use public::{public_caller, public_json};

#[cfg(test)]
mod tests {
    /// Contracts parse, call a service and render: they reach the domain
    /// through `App`'s services, never the store or a flow's internals.
    #[test]
    fn contracts_reach_the_domain_through_services_only() {
        fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/contract")),
            &mut files,
        );
        assert!(files.len() > 10, "found {} contract files", files.len());
        // This file names what it looks for.
        files.retain(|file| !file.ends_with("contract/mod.rs"));
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for reach in ["crate::store", ".store()", "rekey::store"] {
                assert!(
                    !text.contains(reach),
                    "{} reaches the store ({reach}); call a service",
                    file.display()
                );
            }
        }
    }
}
