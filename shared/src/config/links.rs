//! Where the links in reset mail point: the link templates of each kind,
//! Payabli's entries, the origins a client's `urlTemplate` may use, and
//! the hosted page's continue link.

use std::collections::BTreeMap;

use super::{ContinueUrl, EnvReader};
use crate::url_template::{CodeUrlTemplate, LinkTemplate};

/// Where the links in reset mail point.
#[derive(Clone, Debug)]
pub struct LinkTemplates {
    /// Link-token mail (`{token}`) without an `entry`, or with one that is
    /// not configured: the operator's own front end, for every organisation.
    pub default: LinkTemplate,
    /// Payabli's `entry` selects one of these; each belongs to one
    /// organisation and serves only its users.
    pub by_entry: BTreeMap<String, OrgLink>,
    /// Account recovery mail (`{token}`, the `validation_code`).
    pub recover: LinkTemplate,
    /// Signed-link mail (`{user_id}`, `{timestamp}`, `{signature}`).
    pub signed: LinkTemplate,
    /// Zitadel code mail when the client sends no `urlTemplate`.
    pub code: CodeUrlTemplate,
    /// Origins a client's `urlTemplate` may point at, each for the users
    /// of one organisation.
    pub allowed_origins: Vec<OrgOrigin>,
    /// `REKEY_CONTINUE_URL`: the application the hosted page links to after
    /// a successful reset; None, no link.
    pub continue_url: Option<ContinueUrl>,
}

/// A Payabli entry's link template and the organisation it belongs to.
#[derive(Clone, Debug)]
pub struct OrgLink {
    pub org: String,
    pub template: LinkTemplate,
}

/// An origin a `urlTemplate` may point at for the users of `org`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgOrigin {
    pub org: String,
    pub origin: String,
}

impl LinkTemplates {
    /// The template for a user of `org` asking with `entry`: the entry's
    /// when it is configured, the default when it is not (or none was
    /// sent), and None when the entry belongs to another organisation.
    pub fn for_entry(&self, entry: Option<&str>, org: &str) -> Option<&LinkTemplate> {
        match entry.and_then(|e| self.by_entry.get(e)) {
            None => Some(&self.default),
            Some(link) if link.org == org => Some(&link.template),
            Some(_) => None,
        }
    }

    /// Whether any organisation allows `origin`: a template pointing
    /// anywhere else is refused before the user is looked up.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.origin == origin)
    }

    /// Whether `origin` is allowed for the users of `org`.
    pub fn origin_allowed_for(&self, org: &str, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o.org == org && o.origin == origin)
    }

    /// Every link variable, recording each problem; None when a link
    /// cannot be built. `default_org` owns untagged entries and origins.
    pub(super) fn read(env: &mut EnvReader<'_>, default_org: &str) -> Option<Self> {
        let default_link = env
            .required(
                "REKEY_RESET_URL",
                "the reset link template, e.g. https://app.example.com/reset?token={token}",
            )
            .and_then(|raw| parse_link(env, "REKEY_RESET_URL", &raw, &["token"]));
        // The other links default to the same front end. Built beside the
        // checked reset link, they need no trial parses (more than half of init's
        // configuration time); a template the operator sets gets them all.
        let front = default_link
            .as_ref()
            .map(LinkTemplate::origin)
            .unwrap_or_else(|| "https://app.example.com".into());
        let recover = match env.optional("REKEY_RECOVER_URL") {
            Some(raw) => parse_link(env, "REKEY_RECOVER_URL", &raw, &["token"]),
            None => default_link
                .as_ref()
                .map(|d| LinkTemplate::beside(d, "/account/reset?validation_code={token}")),
        };
        let signed = match env.optional("REKEY_SIGNED_RESET_URL") {
            Some(raw) => parse_link(
                env,
                "REKEY_SIGNED_RESET_URL",
                &raw,
                &["user_id", "timestamp", "signature"],
            ),
            None => default_link.as_ref().map(|d| {
                LinkTemplate::beside(
                    d,
                    "/reset-password/?user_id={user_id}&timestamp={timestamp}&signature={signature}",
                )
            }),
        };
        let code = match env.optional("REKEY_CODE_URL") {
            Some(raw) => CodeUrlTemplate::parse(&raw).map(Some),
            None => default_link
                .as_ref()
                .map(|d| {
                    CodeUrlTemplate::beside(
                        d,
                        "/reset/code?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}",
                    )
                })
                .transpose(),
        };
        let code = match code {
            Ok(t) => t,
            Err(e) => {
                env.problems
                    .push(format!("REKEY_CODE_URL is not valid: {e}"));
                None
            }
        };
        let origins = env.optional("REKEY_ALLOWED_LINK_ORIGINS");
        let allowed_origins = match &origins {
            None => vec![OrgOrigin {
                org: default_org.to_string(),
                origin: front.clone(),
            }],
            Some(raw) => read_origins(env, raw, default_org),
        };
        let by_entry = read_entries(env, default_org);
        let continue_url = ContinueUrl::read(env, origins.as_deref());
        Some(Self {
            default: default_link?,
            by_entry,
            recover: recover?,
            signed: signed?,
            code: code?,
            allowed_origins,
            continue_url,
        })
    }
}

/// `REKEY_ALLOWED_LINK_ORIGINS`: `org=origin` entries, or bare origins of
/// the default organisation.
fn read_origins(env: &mut EnvReader<'_>, raw: &str, default_org: &str) -> Vec<OrgOrigin> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .filter_map(|tagged| {
            // `org=origin`, or a bare origin for the default org.
            let (org, o) = match tagged.split_once('=') {
                Some((org, o)) => (org.trim().to_string(), o.trim()),
                None => (default_org.to_string(), tagged),
            };
            match crate::url_template::origin(o) {
                Some(parsed) if parsed == o.trim_end_matches('/') && !org.is_empty() => {
                    Some(OrgOrigin {
                        org,
                        origin: parsed,
                    })
                }
                _ => {
                    env.problems.push(format!(
                        "REKEY_ALLOWED_LINK_ORIGINS entry {tagged:?} is not an origin like https://app.example.com, optionally after an organisation and `=`"
                    ));
                    None
                }
            }
        })
        .collect()
}

/// An entry's value in `REKEY_RESET_URLS_BY_ENTRY`: a template of the
/// default organisation, or one tagged with its organisation.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum EntryValue {
    Untagged(String),
    Tagged { org: String, url: String },
}

/// `REKEY_RESET_URLS_BY_ENTRY`: a JSON object of entry -> template, or
/// entry -> `{"org": ..., "url": template}`.
fn read_entries(env: &mut EnvReader<'_>, default_org: &str) -> BTreeMap<String, OrgLink> {
    let mut by_entry = BTreeMap::new();
    let Some(raw) = env.optional("REKEY_RESET_URLS_BY_ENTRY") else {
        return by_entry;
    };
    match serde_json::from_str::<BTreeMap<String, EntryValue>>(&raw) {
        Ok(map) => {
            for (entry, value) in map {
                let (org, template) = match value {
                    EntryValue::Untagged(url) => (default_org.to_string(), url),
                    EntryValue::Tagged { org, url } => (org, url),
                };
                if let Some(template) = parse_link(
                    env,
                    &format!("REKEY_RESET_URLS_BY_ENTRY[{entry}]"),
                    &template,
                    &["token"],
                ) {
                    by_entry.insert(entry, OrgLink { org, template });
                }
            }
        }
        Err(e) => env.problems.push(format!(
            "REKEY_RESET_URLS_BY_ENTRY is not a JSON object of entry -> link template (or -> {{\"org\", \"url\"}}): {e}"
        )),
    }
    by_entry
}

fn parse_link(
    env: &mut EnvReader<'_>,
    name: &str,
    raw: &str,
    placeholders: &[&str],
) -> Option<LinkTemplate> {
    match LinkTemplate::parse(raw, placeholders) {
        Ok(t) => Some(t),
        Err(e) => {
            env.problems.push(format!("{name} is not valid: {e}"));
            None
        }
    }
}
