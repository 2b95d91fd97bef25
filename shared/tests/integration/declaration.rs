//! Every list of functions outside `rekey::routes::declaration` checked
//! against it: a function declared there and missing from any of these
//! fails here (the IAM oracle's tables fail to compile instead; template.rs
//! checks template.yaml and the events/ samples; openapi.rs the published
//! document).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rekey::contract::discovery;
use rekey::routes::{Function, ROUTES};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn declared() -> BTreeSet<String> {
    Function::ALL.iter().map(|f| f.name().to_string()).collect()
}

/// The quoted strings of the first `[...]` after `start` in `text`.
fn quoted_list(text: &str, start: &str) -> BTreeSet<String> {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} found"));
    let open = from + text[from..].find('[').expect("a list");
    let close = open + text[open..].find(']').expect("the list's end");
    text[open + 1..close]
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

#[test]
fn each_function_is_a_workspace_crate_with_its_declared_features() {
    // Directories: functions/ also holds the build script they share (init_layout.rs).
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(crates, declared(), "functions/* vs Function::ALL");

    let workspace = read("Cargo.toml");
    let members: BTreeSet<String> = quoted_list(&workspace, "members")
        .into_iter()
        .filter_map(|m| m.strip_prefix("functions/").map(str::to_string))
        .collect();
    assert_eq!(members, declared(), "the workspace's functions/ members");

    for f in Function::ALL {
        let manifest = read(&format!("functions/{}/Cargo.toml", f.name()));
        let dependency = manifest
            .lines()
            .find(|l| l.starts_with("rekey"))
            .unwrap_or_else(|| panic!("{}: no rekey dependency", f.name()));
        let features = if dependency.contains("features") {
            quoted_list(dependency, "features")
        } else {
            BTreeSet::new()
        };
        let want: BTreeSet<String> = f.features().iter().map(|s| s.to_string()).collect();
        assert_eq!(features, want, "{}: the rekey features", f.name());
        // Release builds link init's code first (docs/architecture.md, "Init layout").
        assert!(
            manifest.contains("\nbuild = \"../init_layout.rs\"\n"),
            "{}: Cargo.toml does not name functions/init_layout.rs as its build script",
            f.name()
        );
    }
}

#[test]
fn the_scripts_measure_and_invoke_every_function() {
    let bench = quoted_list(&read("scripts/bench"), "FUNCTIONS =");
    assert_eq!(bench, declared(), "scripts/bench FUNCTIONS");

    let events = read("scripts/checks/lambda-events.py");
    for f in Function::ALL {
        let name = f.name();
        assert!(
            events.contains(&format!("http(em, \"{name}\""))
                || events.contains(&format!("invoke(\"{name}\"")),
            "scripts/checks/lambda-events.py never invokes {name}"
        );
    }
}

#[test]
fn the_readme_lists_every_function_with_its_routes() {
    let readme = read("README.md");
    let rows: Vec<(&str, &str)> = readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() == 5 && Function::from_name(cells[1]).is_some()).then(|| (cells[1], l))
        })
        .collect();
    let named: BTreeSet<String> = rows.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(named, declared(), "README.md's table of functions");
    for (name, row) in rows {
        let f = Function::from_name(name).unwrap();
        for route in f.routes() {
            assert!(
                row.contains(route.path),
                "README.md: {name}'s row misses {}",
                route.path
            );
        }
    }
}

/// The naming scheme: an operation is its function's name in snake case,
/// under the module of the contract it speaks. The stream's consumer,
/// which speaks no contract, is `delivery::stream::consume_batch`.
#[test]
fn operations_are_named_after_their_functions() {
    for f in Function::ALL {
        let (module, op) = f.operation().rsplit_once("::").unwrap();
        if f == Function::SendEmail {
            assert_eq!(f.operation(), "delivery::stream::consume_batch");
            continue;
        }
        assert_eq!(op, f.name().replace('-', "_"), "{}", f.operation());
        assert!(module.starts_with("contract::"), "{}", f.operation());
        assert!(!f.operation().contains(' '), "{}", f.operation());
    }
}

/// The paths the contracts publish (discovery's metadata, the page's
/// links) are routes of the functions that serve them.
#[test]
fn the_published_paths_are_routes() {
    for (path, function) in [
        (discovery::CONFIGURATION_PATH, Function::Discovery),
        (discovery::JWKS_PATH, Function::Discovery),
        (discovery::TOKEN_PATH, Function::OAuthToken),
        (discovery::REVOCATION_PATH, Function::OAuthRevoke),
        (discovery::USERINFO_PATH, Function::OAuthUserinfo),
    ] {
        assert!(
            ROUTES
                .iter()
                .any(|r| r.path == path && r.function == function),
            "{path} is not a route of {}",
            function.name()
        );
    }
}

/// docs/contracts.md names every route: a new contract's routes are
/// documented with its dialect.
#[test]
fn the_contracts_document_names_every_route() {
    let doc = read("docs/contracts.md");
    for route in ROUTES {
        assert!(
            doc.contains(route.path),
            "docs/contracts.md does not name {} {} ({})",
            route.method,
            route.path,
            route.function.name()
        );
    }
}

/// Every Rust source of the crates a checklist can name a test of.
fn rust_sources(dir: &Path, text: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.ends_with("target") {
            rust_sources(&path, text);
        } else if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// docs/architecture.md's checklists name, for each step, what enforces
/// it: a test (`module::test_name`, which must exist) or the compiler.
#[test]
fn each_checklist_step_names_what_enforces_it() {
    let doc = read("docs/architecture.md");
    let checklists = doc
        .split("\n## Checklists")
        .nth(1)
        .expect("docs/architecture.md has a Checklists section");
    let checklists = checklists.split("\n## ").next().unwrap_or(checklists);
    let mut sources = String::new();
    rust_sources(&root().join("shared"), &mut sources);
    rust_sources(&root().join("cli"), &mut sources);
    let mut steps = 0;
    for list in checklists.split("\n### ").skip(1) {
        let title = list.lines().next().unwrap_or_default();
        // Numbered steps: a line starting `N. `, up to the next one.
        let mut current: Vec<String> = Vec::new();
        let mut all = Vec::new();
        for line in list.lines().skip(1) {
            let numbered = line
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if numbered && !current.is_empty() {
                all.push(current.join(" "));
                current.clear();
            }
            if numbered || !current.is_empty() {
                current.push(line.trim().to_string());
            }
        }
        if !current.is_empty() {
            all.push(current.join(" "));
        }
        assert!(!all.is_empty(), "checklist {title:?} has no steps");
        for step in all {
            steps += 1;
            let tests: Vec<&str> = step
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|quoted| {
                    quoted.contains("::")
                        && quoted.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':'
                        })
                })
                .collect();
            for test in &tests {
                let name = test.rsplit("::").next().unwrap_or_default();
                assert!(
                    sources.contains(&format!("fn {name}(")),
                    "{title}: `{test}` is named but no such test exists"
                );
            }
            assert!(
                !tests.is_empty() || step.to_lowercase().contains("the compiler"),
                "{title}: a step names neither a test nor the compiler: {step}"
            );
        }
    }
    assert!(steps >= 15, "only {steps} checklist steps found");
}
