//! Each function's own wiring against the environment template.yaml gives
//! it: the template's parameters and conditions evaluated as CloudFormation
//! would (with and without the Cognito, webhook and KMS-rotation
//! parameters), each function's variables handed to its constructor in
//! `rekey::wiring` (what its main.rs calls), and the dependencies it built
//! compared with what its routes need, as the IAM oracle (`crate::iam`) declares it (the
//! calls its role may make): the pool directory, the signer, the public
//! keys, the mailer, the webhook retry queue. Also: every variable a
//! function's init reads is one the template can set (a variable it
//! names, a setting of the `Settings` parameter, or a secret read from
//! Secrets Manager by the ARN it names: moto's, created here).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rekey::config::settings;
use rekey::wiring::{self, Environment};
use serde_norway::Value;

use crate::iam::{self, STREAM_FUNCTION};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

static TEMPLATE: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is valid YAML")
});

const POOL_ID: &str = "us-east-1_AbCdEf123";

/// The secrets the stack's functions read at init, on moto: the service
/// secret (with an AWSPREVIOUS version, for the rotation), the webhook
/// secrets and the edge secret, by ARN.
struct StackSecrets {
    service: String,
    webhooks: String,
    edge: String,
}

static SECRETS: LazyLock<StackSecrets> = LazyLock::new(|| {
    runtime().block_on(async {
        let old = rekey::crypto::ServiceSecret::generate().1;
        let service = crate::support::moto_secret("rekey-wiring-service", &old).await;
        let current = rekey::crypto::ServiceSecret::generate().1;
        crate::support::put_secret_version(&service, &current, "AWSCURRENT").await;
        let hook = rekey::webhook::secret::WebhookSecret::generate();
        let webhooks = crate::support::moto_secret(
            "rekey-wiring-webhooks",
            &format!(r#"{{"app": "{hook}"}}"#),
        )
        .await;
        let edge = crate::support::moto_secret("rekey-wiring-edge", &"E".repeat(48)).await;
        StackSecrets {
            service,
            webhooks,
            edge,
        }
    })
});

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// What a function's main starts from: the template's variables, with the
/// secrets they name read from Secrets Manager (moto), as
/// `rekey::wiring::environment` does.
fn start(vars: &BTreeMap<String, String>) -> Result<Environment, rekey::ConfigError> {
    let mut pairs = vars.clone();
    pairs.insert(
        "AWS_ENDPOINT_URL_SECRETS_MANAGER".into(),
        crate::support::moto_endpoint(),
    );
    runtime().block_on(rekey::secrets_manager::resolve(Environment::from_pairs(
        pairs,
    )))
}

/// The value variables read from Secrets Manager in place of the
/// references among `names` (`config::stored_secrets`).
fn by_reference(names: &mut BTreeSet<String>) {
    use rekey::config::stored_secrets::{ROTATION_VAR, STORED};
    for stored in STORED {
        if names.contains(stored.reference) {
            names.insert(stored.value.to_string());
        }
    }
    if names.contains(ROTATION_VAR) {
        names.insert("REKEY_SECRET_PREVIOUS".to_string());
    }
}
const WEBHOOKS: &str = r#"[{"name": "app", "url": "https://app.example.com/hooks/rekey"}]"#;

/// The parameter sets each function is built under: the required ones
/// alone, then each optional feature, then all of them.
fn parameter_sets() -> Vec<(&'static str, BTreeMap<&'static str, String>)> {
    let base: BTreeMap<&str, String> = [
        ("MailFrom", "Acme <no-reply@acme.example>"),
        ("SenderIdentity", "acme.example"),
        ("ResetUrl", "https://app.example.com/reset?token={token}"),
        ("ServiceSecretId", SECRETS.service.as_str()),
        (
            "KeyAdministratorArn",
            "arn:aws:iam::123456789012:role/rekey-deployer",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    let with = |pairs: &[(&'static str, &str)]| {
        let mut p = base.clone();
        p.extend(pairs.iter().map(|(k, v)| (*k, v.to_string())));
        p
    };
    let cognito = [
        ("CognitoUserPoolId", POOL_ID),
        ("CognitoClientId", "app-client"),
    ];
    let webhooks = [
        ("WebhookEndpoints", WEBHOOKS),
        ("WebhookSecretsId", SECRETS.webhooks.as_str()),
    ];
    let kms = [
        (
            "SigningKeyNext",
            "arn:aws:kms:us-east-1:123456789012:key/next",
        ),
        (
            "SigningKeyPrevious",
            "arn:aws:kms:us-east-1:123456789012:key/previous",
        ),
    ];
    let everything: Vec<_> = cognito
        .iter()
        .chain(&webhooks)
        .chain(&kms)
        .copied()
        .chain([
            ("SecretRotation", "previous"),
            ("EdgeProtection", "cloudfront-waf"),
            ("Settings", r#"{"REKEY_PASSWORD_HISTORY": 3}"#),
        ])
        .collect();
    vec![
        ("defaults", base.clone()),
        ("cognito", with(&cognito)),
        ("webhooks", with(&webhooks)),
        ("kms rotation", with(&kms)),
        ("everything", with(&everything)),
    ]
}

// ------------------------------------------------------------ the template, evaluated

/// What an intrinsic evaluates to.
#[derive(Clone, Debug, PartialEq)]
enum Out {
    Text(String),
    Bool(bool),
    NoValue,
}

impl Out {
    fn text(self, what: &str) -> String {
        match self {
            Out::Text(s) => s,
            other => panic!("{what}: expected a string, got {other:?}"),
        }
    }
}

struct Stack {
    parameters: BTreeMap<String, String>,
}

impl Stack {
    fn new(overrides: &BTreeMap<&str, String>) -> Self {
        let mut parameters = BTreeMap::new();
        for (name, spec) in TEMPLATE["Parameters"].as_mapping().expect("Parameters") {
            let name = name.as_str().unwrap().to_string();
            let default = match &spec["Default"] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if let Some(v) = overrides.get(name.as_str()).cloned().or(default) {
                parameters.insert(name, v);
            }
        }
        for name in overrides.keys() {
            assert!(
                parameters.contains_key(*name),
                "template.yaml has no parameter {name}"
            );
        }
        Self { parameters }
    }

    fn condition(&self, name: &str) -> bool {
        match self.eval(&TEMPLATE["Conditions"][name]) {
            Out::Bool(b) => b,
            other => panic!("condition {name} is {other:?}"),
        }
    }

    /// A resource's name or attribute as CloudFormation would give it.
    fn resource(&self, id: &str, attribute: Option<&str>) -> String {
        let kind = TEMPLATE["Resources"][id]["Type"]
            .as_str()
            .unwrap_or_else(|| panic!("no resource {id}"));
        match (kind, attribute) {
            ("AWS::SQS::Queue", None) => {
                format!("https://sqs.us-east-1.amazonaws.com/123456789012/rekey-{id}")
            }
            ("AWS::KMS::Key", None) => format!("key-{id}"),
            // Its !Ref is its ARN: the edge secret on moto.
            ("AWS::SecretsManager::Secret", None) => SECRETS.edge.clone(),
            (_, None) => format!("rekey-{id}"),
            (_, Some(att)) => format!("arn:aws:{kind}:us-east-1:123456789012:rekey-{id}/{att}"),
        }
    }

    fn reference(&self, name: &str) -> Out {
        match name {
            "AWS::NoValue" => Out::NoValue,
            "AWS::Region" => Out::Text("us-east-1".into()),
            "AWS::AccountId" => Out::Text("123456789012".into()),
            "AWS::StackName" => Out::Text("rekey".into()),
            "AWS::Partition" => Out::Text("aws".into()),
            "AWS::URLSuffix" => Out::Text("amazonaws.com".into()),
            _ => match self.parameters.get(name) {
                Some(v) => Out::Text(v.clone()),
                None => Out::Text(self.resource(name, None)),
            },
        }
    }

    /// `{{resolve:secretsmanager:ID:...}}` as the secrets would hold them.
    fn resolve(&self, text: &str) -> String {
        let Some(start) = text.find("{{resolve:secretsmanager:") else {
            return text.to_string();
        };
        let end = text[start..].find("}}").expect("closed") + start + 2;
        let id = text[start + 25..end - 2].split(':').next().unwrap();
        let value = if Some(id) == self.parameters.get("WebhookSecretsId").map(String::as_str) {
            format!(
                r#"{{"app": "{}"}}"#,
                rekey::webhook::secret::WebhookSecret::generate()
            )
        } else if id.starts_with("rekey-EdgeSecret") {
            "E".repeat(48)
        } else {
            rekey::crypto::ServiceSecret::generate().1
        };
        format!("{}{}{}", &text[..start], value, self.resolve(&text[end..]))
    }

    fn eval(&self, v: &Value) -> Out {
        let Value::Tagged(t) = v else {
            return match v {
                Value::String(s) => Out::Text(self.resolve(s)),
                Value::Number(n) => Out::Text(n.to_string()),
                Value::Bool(b) => Out::Bool(*b),
                other => panic!("cannot evaluate {other:?}"),
            };
        };
        let args = t.value.as_sequence();
        let arg = |i: usize| &args.expect("a list of arguments")[i];
        match t.tag.to_string().trim_start_matches('!') {
            "Ref" => self.reference(t.value.as_str().expect("!Ref name")),
            "GetAtt" => {
                let (id, att) = t
                    .value
                    .as_str()
                    .and_then(|s| s.split_once('.'))
                    .expect("Res.Att");
                Out::Text(self.resource(id, Some(att)))
            }
            "Sub" => {
                let mut text = t.value.as_str().expect("!Sub text").to_string();
                while let Some(start) = text.find("${") {
                    let end = text[start..].find('}').unwrap() + start;
                    let name = &text[start + 2..end];
                    let value = match name.split_once('.') {
                        Some((id, att)) if !name.starts_with("AWS::") => {
                            self.resource(id, Some(att))
                        }
                        _ => self.reference(name).text(name),
                    };
                    text.replace_range(start..=end, &value);
                }
                Out::Text(self.resolve(&text))
            }
            "If" => {
                let cond = arg(0).as_str().expect("condition name");
                self.eval(arg(if self.condition(cond) { 1 } else { 2 }))
            }
            "Equals" => Out::Bool(self.eval(arg(0)) == self.eval(arg(1))),
            "And" => Out::Bool(
                args.expect("a list of conditions")
                    .iter()
                    .all(|c| self.eval(c) == Out::Bool(true)),
            ),
            "Not" => Out::Bool(self.eval(arg(0)) == Out::Bool(false)),
            "Condition" => Out::Bool(self.condition(t.value.as_str().unwrap())),
            other => panic!("intrinsic {other} is not evaluated here"),
        }
    }

    /// A function's variables: Globals', then its own, evaluated; what
    /// Lambda sets itself added (region, credentials).
    fn environment(&self, function_id: &str) -> BTreeMap<String, String> {
        let mut expressions = BTreeMap::new();
        let globals = &TEMPLATE["Globals"]["Function"]["Environment"]["Variables"];
        let own = &TEMPLATE["Resources"][function_id]["Properties"]["Environment"]["Variables"];
        for vars in [globals, own] {
            for (k, v) in vars.as_mapping().into_iter().flatten() {
                expressions.insert(k.as_str().unwrap().to_string(), v.clone());
            }
        }
        let mut env = BTreeMap::new();
        for (name, expr) in expressions {
            match self.eval(&expr) {
                Out::NoValue => {}
                Out::Text(s) => {
                    env.insert(name, s);
                }
                Out::Bool(b) => panic!("{function_id}: {name} evaluates to {b}"),
            }
        }
        for (k, v) in LAMBDA_SETS {
            env.insert(k.to_string(), v.to_string());
        }
        env
    }
}

/// Every variable the template can set for some function under some
/// parameters: the names in Globals and the functions' own environments,
/// and the settings `REKEY_SETTINGS` carries when the template passes it.
fn settable() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (id, _) in functions() {
        names.extend(template_names(&id));
    }
    if names.contains(settings::VARIABLE) {
        names.extend(settings::NAMES.iter().map(|n| n.to_string()));
    }
    by_reference(&mut names);
    names
}

/// The variables the template names for `function_id` (Globals' and its
/// own), whatever their conditions.
fn template_names(function_id: &str) -> BTreeSet<String> {
    let globals = &TEMPLATE["Globals"]["Function"]["Environment"]["Variables"];
    let own = &TEMPLATE["Resources"][function_id]["Properties"]["Environment"]["Variables"];
    let mut names = [globals, own]
        .into_iter()
        .flat_map(|vars| vars.as_mapping().into_iter().flatten())
        .map(|(k, _)| k.as_str().unwrap().to_string())
        .collect();
    by_reference(&mut names);
    names
}

/// What Lambda puts in every function's environment itself.
const LAMBDA_SETS: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "example"),
    ("AWS_SESSION_TOKEN", "example"),
];

/// The standard AWS SDK endpoint variables: read by the code, given by the
/// template only as `AWS_ENDPOINT_URL` for `sam local` (absent in AWS).
fn sdk_endpoint_variable(name: &str) -> bool {
    name.starts_with("AWS_ENDPOINT_URL")
}

/// (logical id, crate name) of each function in the template.
fn functions() -> Vec<(String, String)> {
    TEMPLATE["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, r)| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
            (id.as_str().unwrap().to_string(), binary.to_string())
        })
        .collect()
}

fn cargo_features(function: &str) -> String {
    std::fs::read_to_string(root().join("functions").join(function).join("Cargo.toml"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("rekey"))
        .unwrap_or_default()
        .to_string()
}

// ------------------------------------------------------------ built and needed

/// The dependencies a function serves with.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Deps {
    /// Accounts are looked up in, and passwords set through, a directory
    /// that keeps the passwords itself: the Cognito pool (or, in a build
    /// without `cognito`, `directory::unlinked`, which says only that).
    pool_directory: bool,
    signer: bool,
    public_keys: bool,
    mailer: bool,
    retry_queue: bool,
    /// The outbox retries the pool sign-outs notices carry.
    sign_out_directory: bool,
}

/// What `function`'s constructor builds from `env`.
fn built(function: &str, env: &Environment) -> Result<Deps, rekey::ConfigError> {
    let app = |app: rekey::App| Deps {
        pool_directory: app.reset.directory().keeps_passwords(),
        signer: app.signer().is_some(),
        public_keys: app.resource.keys().is_some(),
        ..Deps::default()
    };
    Ok(match function {
        "request-reset" => app(wiring::request_reset(env)?),
        "validate-token" => app(wiring::validate_token(env)?),
        "reset-password" => app(wiring::reset_password(env)?),
        "validate-password" => app(wiring::validate_password(env)?),
        "request-user-reset" => app(wiring::request_user_reset(env)?),
        "set-password" => app(wiring::set_password(env)?),
        "send-reset-link" => app(wiring::send_reset_link(env)?),
        "reset-password-signed" => app(wiring::reset_password_signed(env)?),
        "recover-account" => app(wiring::recover_account(env)?),
        "reset-account" => app(wiring::reset_account(env)?),
        "oauth-token" => app(wiring::oauth_token(env)?),
        "oauth-revoke" => app(wiring::oauth_revoke(env)?),
        "oauth-userinfo" => app(wiring::oauth_userinfo(env)?),
        "discovery" => Deps {
            public_keys: wiring::discovery(env)?.publishes_keys(),
            ..Deps::default()
        },
        "reset-page" => {
            wiring::reset_page(env)?;
            Deps::default()
        }
        STREAM_FUNCTION => {
            let built = wiring::send_email(env)?;
            Deps {
                pool_directory: built.reset.directory().keeps_passwords(),
                mailer: true,
                retry_queue: built.outbox.webhooks.is_some(),
                sign_out_directory: built.outbox.directory.is_some(),
                ..Deps::default()
            }
        }
        other => panic!("no constructor for {other}: add it to rekey::wiring and here"),
    })
}

/// What `function`'s routes need under `params`, from the calls its IAM
/// role may make (the IAM oracle, `crate::iam`).
fn needed(function: &str, params: &BTreeMap<&str, String>) -> Deps {
    let pool = params.contains_key("CognitoUserPoolId");
    let webhooks = params.contains_key("WebhookEndpoints");
    let kms = iam::kms_actions(function);
    let stream = function == STREAM_FUNCTION;
    Deps {
        pool_directory: pool && !iam::cognito_actions(function).is_empty(),
        signer: kms.contains(&"kms:Sign"),
        public_keys: kms.contains(&"kms:GetPublicKey"),
        mailer: stream,
        retry_queue: stream && webhooks,
        sign_out_directory: stream && pool,
    }
}

#[test]
fn each_function_builds_what_its_routes_need_from_the_templates_environment() {
    let mut failures = BTreeSet::new();
    let mut findings = BTreeSet::new();
    let settable = settable();
    for (set, params) in parameter_sets() {
        let stack = Stack::new(&params);
        for (id, function) in functions() {
            let vars = stack.environment(&id);
            let env = match start(&vars) {
                Ok(env) => env,
                Err(e) => {
                    failures.insert(format!("{set}: {function} reads no secrets: {e}"));
                    continue;
                }
            };
            let built = match built(&function, &env) {
                Ok(built) => built,
                Err(e) => {
                    failures.insert(format!("{set}: {function} does not start: {e}"));
                    continue;
                }
            };
            let mut need = needed(&function, &params);
            // A function the pool's variables reach but whose role makes no
            // pool call is built without `cognito`: it links
            // `directory::unlinked`, which only says rekey holds no
            // passwords (this test build links every feature).
            if built.pool_directory
                && !need.pool_directory
                && !cargo_features(&function).contains("\"cognito\"")
            {
                need.pool_directory = true;
            }
            if built != need {
                failures.insert(format!(
                    "{set}: {function} builds {built:?}\n    but its routes need {need:?}"
                ));
            }
            // Every variable its init read is one the template can set for
            // some function (a named variable, or a setting); what it reads
            // that the template does not give this function, and what it is
            // given and never reads, are findings.
            let read = env.names_read();
            let named = template_names(&id);
            // What Secrets Manager gave in place of a reference.
            let from_secrets: BTreeSet<&String> = read
                .iter()
                .filter(|n| !vars.contains_key(*n) && env.get(n).is_some())
                .collect();
            for name in &read {
                let given = vars.contains_key(name) || from_secrets.contains(name);
                if name.starts_with("REKEY_")
                    && name != settings::VARIABLE
                    && !settings::RETIRED.contains(&name.as_str())
                    && !given
                {
                    if !settable.contains(name) {
                        failures.insert(format!(
                            "{function} reads {name}, which the template cannot set"
                        ));
                    } else if !settings::NAMES.contains(&name.as_str()) && !named.contains(name) {
                        findings.insert(format!(
                            "{function} reads {name}, which the template gives other functions only"
                        ));
                    }
                } else if !name.starts_with("REKEY_") && !given && !sdk_endpoint_variable(name) {
                    failures.insert(format!(
                        "{set}: {function} reads {name}, which nothing sets"
                    ));
                }
            }
            for name in vars.keys() {
                if !read.contains(name) && !LAMBDA_SETS.iter().any(|(k, _)| k == name) {
                    findings.insert(format!("{function} is given {name} and never reads it"));
                }
            }
        }
    }
    if !findings.is_empty() {
        eprintln!(
            "variables given and not read, or read as settings:\n  {}",
            findings.into_iter().collect::<Vec<_>>().join("\n  ")
        );
    }
    assert!(
        failures.is_empty(),
        "{}",
        failures.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The signing keys during a rotation: a function that signs reads only
/// the key that signs (`REKEY_SIGNING_KEY`); one that publishes keys or
/// verifies tokens (discovery, oauth-userinfo) reads the next and previous
/// keys too, and the template gives each function exactly the keys it
/// reads. A function reading a key the template does not give it would
/// run in AWS as if no rotation were under way.
#[test]
fn each_function_reads_and_is_given_the_signing_keys_its_role_uses() {
    const KEYS: [&str; 3] = [
        "REKEY_SIGNING_KEY",
        "REKEY_SIGNING_KEY_NEXT",
        "REKEY_SIGNING_KEY_PREVIOUS",
    ];
    let (_, rotation) = parameter_sets()
        .into_iter()
        .find(|(set, _)| *set == "kms rotation")
        .expect("the kms rotation parameter set");
    let stack = Stack::new(&rotation);
    for (id, function) in functions() {
        let kms = iam::kms_actions(&function);
        let want: BTreeSet<&str> = if kms.contains(&"kms:Sign") {
            KEYS[..1].iter().copied().collect()
        } else if kms.contains(&"kms:GetPublicKey") {
            KEYS.iter().copied().collect()
        } else {
            BTreeSet::new()
        };
        let vars = stack.environment(&id);
        let given: BTreeSet<&str> = KEYS
            .iter()
            .copied()
            .filter(|k| vars.contains_key(*k))
            .collect();
        let env = start(&vars).unwrap_or_else(|e| panic!("{function} reads no secrets: {e}"));
        built(&function, &env).unwrap_or_else(|e| panic!("{function} does not start: {e}"));
        let read = env.names_read();
        let read: BTreeSet<&str> = KEYS.iter().copied().filter(|k| read.contains(*k)).collect();
        assert_eq!(
            read, want,
            "{function} (KMS actions {kms:?}) reads these signing-key variables"
        );
        assert_eq!(
            given, want,
            "template.yaml gives {function} these signing-key variables in a rotation"
        );
    }
}

/// The functions' Cargo features link what their routes need: a function
/// whose role may call the pool is built with `cognito`, one that signs
/// or only verifies or publishes with `kms` (aws-sdk-kms), the mailer with
/// `ses`, the webhook retries with `sqs`, and one that reads a secret at
/// init with `secrets-manager`.
#[test]
fn each_function_is_built_with_the_features_its_routes_need() {
    let sets = parameter_sets();
    let everything = &sets.last().unwrap().1;
    for (_, function) in functions() {
        let need = needed(&function, everything);
        let features = cargo_features(&function);
        for (needed, feature) in [
            (need.pool_directory, "cognito"),
            (need.signer || need.public_keys, "kms"),
            (need.mailer, "ses"),
            (need.retry_queue, "sqs"),
            // The functions that read a secret at init (Secrets Manager).
            (!iam::secrets_read(&function).is_empty(), "secrets-manager"),
        ] {
            assert_eq!(
                features.contains(&format!("\"{feature}\"")),
                needed,
                "functions/{function}/Cargo.toml: feature {feature} (its routes {} it): {features}",
                if needed { "need" } else { "do not need" }
            );
        }
    }
}

/// Every `REKEY_` variable the code reads is one the template can set:
/// named by it, or a setting of its `Settings` parameter; and a setting is
/// never also a named variable.
#[test]
fn the_code_reads_no_variable_the_template_cannot_set() {
    let mut read = BTreeSet::new();
    collect_variables(&root().join("shared").join("src"), &mut read);
    // rekeyctl's own variables are named in config too; no function reads them.
    read.retain(|name| {
        !rekey::config::variables::VARIABLES
            .iter()
            .any(|v| v.name == name && v.reader == rekey::config::variables::Reader::Rekeyctl)
    });
    let settable = settable();
    let mut given = settable.clone();
    given.retain(|n| !settings::NAMES.contains(&n.as_str()));
    for name in settings::RETIRED {
        assert!(
            !settable.contains(*name),
            "{name} is retired: the template must not set it"
        );
    }
    let unreachable: Vec<_> = read
        .iter()
        .filter(|v| !settable.contains(*v) && !settings::RETIRED.contains(&v.as_str()))
        .collect();
    assert!(
        unreachable.is_empty(),
        "read by shared/src, settable by no parameter: {unreachable:?}"
    );
    for name in settings::NAMES {
        assert!(read.contains(*name), "{name} is a setting no code reads");
        assert!(
            !given.contains(*name),
            "{name} is both a named variable and a setting"
        );
    }
    assert!(
        given.contains(settings::VARIABLE),
        "the template must pass the Settings parameter"
    );
}

/// Every `"REKEY_..."` string literal under `dir`.
fn collect_variables(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_variables(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in text.match_indices("\"REKEY_") {
                let rest = &text[at + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(rest.len());
                if rest[end..].starts_with('"') && end > "REKEY_".len() {
                    found.insert(rest[..end].to_string());
                }
            }
        }
    }
}
