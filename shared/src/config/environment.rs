//! A function's environment at init: the variables its constructor in
//! `wiring` reads through [`Environment::reader`], and which names it read
//! (shared/tests/integration/wiring.rs compares them with what
//! template.yaml gives that function).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::EnvReader;

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The variables a function's init reads, and which names it read.
pub struct Environment {
    lookup: Lookup,
    read: Mutex<BTreeSet<String>>,
}

impl Environment {
    /// The process environment, an empty value counting as unset (as
    /// template.yaml's `!Ref AWS::NoValue` arrives under `sam local`).
    pub fn process() -> Self {
        // Read name by name: a copy of the whole environment (about 2 000
        // instructions a variable, and Lambda sets dozens) costs more at
        // init than the reads it would save.
        Self::new(|name| super::env::process_variable(name).filter(|v| !v.is_empty()))
    }

    pub fn new(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
            read: Mutex::default(),
        }
    }

    /// The variables in `pairs` (empty values unset), and nothing else.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars: BTreeMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Self::new(move |name| vars.get(name).cloned())
    }

    /// These variables with `values` in place of their own: the secrets
    /// read at init from Secrets Manager (`secrets_manager::resolve`). What
    /// was read so far stays recorded.
    pub fn with_values(self, values: Vec<(&'static str, String)>) -> Self {
        let Self { lookup, read } = self;
        let values: BTreeMap<&'static str, String> = values.into_iter().collect();
        Self {
            lookup: Box::new(move |name| values.get(name).cloned().or_else(|| lookup(name))),
            read,
        }
    }

    /// One variable, recorded as read.
    pub fn get(&self, name: &str) -> Option<String> {
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string());
        (self.lookup)(name)
    }

    /// A reader over these variables (with `REKEY_SETTINGS`' settings).
    pub fn reader(&self) -> EnvReader<'_> {
        EnvReader::new(move |name| self.get(name))
    }

    /// Every name read so far.
    pub fn names_read(&self) -> BTreeSet<String> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_environment_reads_as_std_env_var_does_and_records_each_name() {
        let env = Environment::process();
        let mut names = BTreeSet::new();
        for (name, value) in std::env::vars() {
            let expected = (!value.is_empty()).then_some(value);
            assert_eq!(env.get(&name), expected, "{name}");
            names.insert(name);
        }
        assert!(!names.is_empty(), "cargo test runs with some environment");
        assert_eq!(env.get("NOT_A_VARIABLE_ANYONE_SETS_7F3A"), None);
        names.insert("NOT_A_VARIABLE_ANYONE_SETS_7F3A".into());
        assert_eq!(env.names_read(), names);
    }
}
