//! The one reader of the process environment. Every variable rekey reads
//! goes through an [`EnvReader`], by a name listed in
//! [`super::variables::VARIABLES`]; readers record each problem, so an
//! operator sees them all in one error. The settings in `REKEY_SETTINGS`
//! (`super::settings`) read as variables too.

use std::collections::BTreeMap;

use super::{ConfigError, settings};

/// Where variables come from: the process environment, or a map in tests.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads variables from a lookup function (the process environment, or a
/// map in tests) and collects the problems found in them.
pub struct EnvReader<'a> {
    lookup: Lookup<'a>,
    /// What `REKEY_SETTINGS` sets, by variable name.
    settings: BTreeMap<String, String>,
    pub problems: Vec<String>,
}

/// A variable of the process environment.
pub(super) fn process_variable(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl<'a> EnvReader<'a> {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let (settings, problems) = settings::parse(set(settings::VARIABLE).as_deref(), |name| {
            set(name).is_some()
        });
        Self {
            lookup: Box::new(lookup),
            settings,
            problems,
        }
    }

    /// The process environment.
    pub fn process() -> EnvReader<'static> {
        EnvReader::new(process_variable)
    }

    /// The process environment, with `default` consulted for a variable
    /// that is not set there (rekeyctl's local defaults).
    pub fn process_or(default: impl Fn(&str) -> Option<String> + 'a) -> Self {
        EnvReader::new(move |name| {
            process_variable(name)
                .filter(|v| !v.is_empty())
                .or_else(|| default(name))
        })
    }

    /// The variable's value, else its setting in `REKEY_SETTINGS`; unset
    /// and empty are the same (template.yaml passes empty strings for
    /// parameters left unset).
    pub fn optional(&self, name: &str) -> Option<String> {
        debug_assert!(
            super::variables::is_documented(name),
            "{name} is read but not listed in config::variables::VARIABLES"
        );
        (self.lookup)(name)
            .filter(|v| !v.is_empty())
            .or_else(|| self.settings.get(name).cloned())
    }

    /// Whether `name` is set (and not empty).
    pub fn is_set(&self, name: &str) -> bool {
        self.optional(name).is_some()
    }

    pub fn required(&mut self, name: &str, what: &str) -> Option<String> {
        let v = self.optional(name);
        if v.is_none() {
            self.problems.push(format!("{name} is not set: {what}"));
        }
        v
    }

    /// A parsed value with a default; a value that does not parse is reported.
    pub fn parsed<T: std::str::FromStr>(&mut self, name: &str, default: T, what: &str) -> T {
        match self.optional(name) {
            None => default,
            Some(raw) => match raw.trim().parse() {
                Ok(v) => v,
                Err(_) => {
                    self.problems
                        .push(format!("{name}={raw:?} is not valid: expected {what}"));
                    default
                }
            },
        }
    }

    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }

    /// `finish`, then the value read: every problem, or the value. A value
    /// missing without a problem reported is a reader's bug, said as one.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, ConfigError> {
        self.finish()?;
        value.ok_or_else(|| ConfigError {
            problems: vec!["a required setting was missing but not reported (a bug)".into()],
        })
    }
}
