//! Localised mail templates: `<locale>/<name>` files bundled at build time
//! (shared/templates, plus a build-time `REKEY_TEMPLATE_DIR`), optionally
//! overridden at start-up from a run-time `REKEY_TEMPLATE_DIR`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// The locale used when nothing else matches; it has every template.
pub const DEFAULT_LOCALE: &str = "en";

/// Every template a locale may provide. One a locale lacks comes from
/// English.
pub const NAMES: [&str; 8] = [
    "reset_link.subject",
    "reset_link.txt",
    "reset_link.html",
    "reset_link.code",
    "password_changed.subject",
    "password_changed.txt",
    "password_changed.html",
    "origin",
];

/// One-line templates: a trailing newline in the file is not part of them.
fn is_fragment(name: &str) -> bool {
    matches!(
        name,
        "reset_link.subject" | "password_changed.subject" | "reset_link.code" | "origin"
    )
}

/// What is wrong with a template directory: the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{}: cannot read it (UTF-8 files in <dir>/<locale>/)", .path.display())]
    Unreadable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is not a locale directory: expected <dir>/<locale>/<template>, e.g. de/reset_link.txt",
        .0.display()
    )]
    NotALocaleDirectory(std::path::PathBuf),
    #[error("{}: {locale:?} is not a locale name (like en, de, pt-br)", .path.display())]
    NotALocale {
        path: std::path::PathBuf,
        locale: String,
    },
    #[error("{}: unknown template {name:?}; the templates are {}", .file.display(), NAMES.join(", "))]
    UnknownTemplate {
        file: std::path::PathBuf,
        name: String,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Templates {
    by_locale: BTreeMap<String, BTreeMap<String, String>>,
}

impl Templates {
    /// What was bundled at build time.
    pub fn bundled() -> Self {
        let mut t = Self::default();
        for (locale, name, contents) in bundled::BUNDLED {
            if NAMES.contains(name) {
                t.insert(locale, name, contents);
            }
        }
        t
    }

    /// The bundled templates, overridden by those in `dir`
    /// (`REKEY_TEMPLATE_DIR`) when one is given.
    pub fn with_overrides(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let t = Self::bundled();
        match dir {
            Some(dir) => t.with_dir(dir),
            None => Ok(t),
        }
    }

    fn insert(&mut self, locale: &str, name: &str, contents: &str) {
        let contents = if is_fragment(name) {
            contents.trim_end_matches(['\n', '\r'])
        } else {
            contents
        };
        self.by_locale
            .entry(locale.to_ascii_lowercase())
            .or_default()
            .insert(name.to_string(), contents.to_string());
    }

    /// Overrides and additions from `dir/<locale>/<name>`; an unknown
    /// template name is an error (a typo would otherwise go unnoticed).
    pub fn with_dir(mut self, dir: &Path) -> Result<Self, TemplateError> {
        let unreadable = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TemplateError::Unreadable { path, source }
        };
        let entries = std::fs::read_dir(dir).map_err(unreadable(dir))?;
        for entry in entries {
            let path = entry.map_err(unreadable(dir))?.path();
            let locale = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if locale.starts_with('.') {
                continue;
            }
            if !path.is_dir() {
                return Err(TemplateError::NotALocaleDirectory(path));
            }
            if !locale
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(TemplateError::NotALocale { path, locale });
            }
            let files = std::fs::read_dir(&path).map_err(unreadable(&path))?;
            for file in files {
                let file = file.map_err(unreadable(&path))?.path();
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.starts_with('.') {
                    continue;
                }
                if !NAMES.contains(&name.as_str()) {
                    return Err(TemplateError::UnknownTemplate { file, name });
                }
                let contents = std::fs::read_to_string(&file).map_err(unreadable(&file))?;
                self.insert(&locale, &name, &contents);
            }
        }
        Ok(self)
    }

    /// The locales that have at least one template, sorted.
    pub fn locales(&self) -> Vec<&str> {
        self.by_locale.keys().map(String::as_str).collect()
    }

    /// The template `name` in `locale`, else in English.
    pub fn get(&self, locale: &str, name: &str) -> &str {
        self.by_locale
            .get(locale)
            .and_then(|m| m.get(name))
            .or_else(|| self.by_locale.get(DEFAULT_LOCALE)?.get(name))
            .map_or("", String::as_str)
    }

    /// The user's stored locale if available, else the best match of an
    /// `Accept-Language` header, else English.
    pub fn negotiate(&self, stored: Option<&str>, accept_language: Option<&str>) -> &str {
        stored
            .and_then(|s| self.best_match(s))
            .or_else(|| accept_language.and_then(|a| self.best_match(a)))
            .unwrap_or(DEFAULT_LOCALE)
    }

    /// The best available locale for an `Accept-Language` value (a single
    /// tag is one): by quality, then order; a tag matches exactly or by its
    /// primary language (`de-CH` -> `de`).
    pub fn best_match(&self, accept_language: &str) -> Option<&str> {
        let mut ranges: Vec<(u16, usize, String)> = accept_language
            .split(',')
            .take(32)
            .enumerate()
            .filter_map(|(i, part)| {
                let mut fields = part.split(';');
                let tag = fields.next()?.trim().to_ascii_lowercase().replace('_', "-");
                let q = fields
                    .find_map(|f| f.trim().strip_prefix("q=").map(str::to_string))
                    .map_or(Some(1000), |q| {
                        q.trim()
                            .parse::<f32>()
                            .ok()
                            .map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                    })?;
                (!tag.is_empty() && tag != "*" && q > 0).then_some((q, i, tag))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranges.iter().find_map(|(_, _, tag)| {
            let primary = tag.split('-').next().unwrap_or_default();
            [tag.as_str(), primary]
                .into_iter()
                .find_map(|t| self.by_locale.get_key_value(t).map(|(k, _)| k.as_str()))
        })
    }
}

static TEMPLATES: OnceLock<Templates> = OnceLock::new();

/// Reads the overrides in `dir` (`REKEY_TEMPLATE_DIR`, if set) once, at
/// start-up; an error names the file and what is wrong with it.
pub fn init(dir: Option<&Path>) -> Result<&'static Templates, TemplateError> {
    if let Some(t) = TEMPLATES.get() {
        return Ok(t);
    }
    let t = Templates::with_overrides(dir)?;
    Ok(TEMPLATES.get_or_init(|| t))
}

/// The process's templates: `init`'s, or, if it was never called, read now
/// (a broken `REKEY_TEMPLATE_DIR` then falls back to the bundled ones, with
/// an error logged).
pub fn current() -> &'static Templates {
    TEMPLATES.get_or_init(|| {
        let env = crate::config::EnvReader::process();
        let dir = crate::config::read_template_dir(&env);
        Templates::with_overrides(dir.as_deref()).unwrap_or_else(|e| {
            tracing::error!(error = %crate::error::Chain(&e), "mail templates: using the bundled ones");
            Templates::bundled()
        })
    })
}
