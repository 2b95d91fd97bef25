//! template.yaml against the code: routes (`ROUTES`), deployed functions
//! (functions/*, `Function::ALL`), IAM (the oracle in iam/), the table
//! (`store::dynamo::table`), the stream mapping, environment variables,
//! logs and alarms. The template is read as YAML with CloudFormation's
//! short-form tags (`!Ref`, `!GetAtt`, `!Sub`, ...) kept as tags; the long
//! forms (`Ref:`, `Fn::GetAtt:`) are understood too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use crate::iam::{self, StoreMethod};
use rekey::metrics::{Metric, NAMESPACE};
use rekey::routes::{Function, ROUTES};
use rekey::store::dynamo::table;
use rekey::store::{INTAKE_KIND, OUTBOX_KIND};
use serde_norway::{Mapping, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

static TEMPLATE: LazyLock<Value> = LazyLock::new(|| {
    let path = root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).expect("template.yaml is valid YAML")
});

// ------------------------------------------------------------ intrinsics

/// The argument of intrinsic `name` ("Ref", "GetAtt", "Sub", ...), short
/// or long form.
fn intrinsic<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag == name => Some(&t.value),
        Value::Mapping(m) if m.len() == 1 => {
            let long = if name == "Ref" {
                name.to_string()
            } else {
                format!("Fn::{name}")
            };
            m.get(long.as_str())
        }
        _ => None,
    }
}

fn ref_of(v: &Value) -> Option<&str> {
    intrinsic(v, "Ref")?.as_str()
}

/// `!GetAtt Resource.Attribute` or `!GetAtt [Resource, Attribute]`.
fn get_att(v: &Value) -> Option<(&str, &str)> {
    match intrinsic(v, "GetAtt")? {
        Value::String(s) => s.split_once('.'),
        Value::Sequence(seq) if seq.len() == 2 => Some((seq[0].as_str()?, seq[1].as_str()?)),
        _ => None,
    }
}

fn sub_of(v: &Value) -> Option<&str> {
    intrinsic(v, "Sub")?.as_str()
}

/// A string or a list of strings (IAM's Action and Resource).
fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(seq) => seq.iter().collect(),
        other => vec![other],
    }
}

fn str_at<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} must be a plain string, found {v:?}"))
}

// ------------------------------------------------------------ resources

fn resources() -> &'static Mapping {
    TEMPLATE["Resources"]
        .as_mapping()
        .expect("template.yaml has Resources")
}

fn resource(id: &str) -> &'static Value {
    resources()
        .get(id)
        .unwrap_or_else(|| panic!("template.yaml has no resource {id}"))
}

fn of_type(kind: &str) -> Vec<(&'static str, &'static Value)> {
    resources()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().expect("logical ids are strings"), r))
        .collect()
}

/// The one resource of `kind`.
fn only(kind: &str) -> (&'static str, &'static Value) {
    let found = of_type(kind);
    assert_eq!(found.len(), 1, "template.yaml must have exactly one {kind}");
    found[0]
}

struct Deployed {
    id: &'static str,
    resource: &'static Value,
}

impl Deployed {
    fn props(&self) -> &'static Value {
        &self.resource["Properties"]
    }

    fn events(&self) -> Vec<(&'static str, &'static Value)> {
        self.props()["Events"]
            .as_mapping()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().expect("event names are strings"), v))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every AWS::Serverless::Function by its crate (BuildProperties.Binary).
fn deployed() -> BTreeMap<&'static str, Deployed> {
    let mut map = BTreeMap::new();
    for (id, r) in of_type("AWS::Serverless::Function") {
        let binary = str_at(
            &r["Metadata"]["BuildProperties"]["Binary"],
            &format!("{id}: Metadata.BuildProperties.Binary"),
        );
        let previous = map.insert(binary, Deployed { id, resource: r });
        assert!(previous.is_none(), "{binary} is deployed twice");
    }
    map
}

fn globals() -> &'static Value {
    &TEMPLATE["Globals"]["Function"]
}

fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .expect("functions/ exists")
        .map(|e| e.expect("readable functions/").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

// ------------------------------------------------------------ routes and functions

#[test]
fn every_route_is_an_http_api_event_of_its_function() {
    let (api, _) = only("AWS::Serverless::HttpApi");
    let mut in_template = BTreeSet::new();
    for (name, f) in deployed() {
        for (event, e) in f.events() {
            if e["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let p = &e["Properties"];
            assert_eq!(
                ref_of(&p["ApiId"]),
                Some(api),
                "{}.Events.{event}: ApiId must be !Ref {api} (one HTTP API)",
                f.id
            );
            let method = str_at(&p["Method"], &format!("{}.Events.{event}.Method", f.id));
            let path = str_at(&p["Path"], &format!("{}.Events.{event}.Path", f.id));
            assert!(
                in_template.insert((method.to_string(), path.to_string(), name.to_string())),
                "{method} {path} is routed twice"
            );
        }
    }
    let in_code: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_string(),
                r.function.name().to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = in_code.difference(&in_template).collect();
    let extra: Vec<_> = in_template.difference(&in_code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "ROUTES and template.yaml disagree (method, path, function)\n\
         in ROUTES, not in template.yaml: {missing:#?}\n\
         in template.yaml, not in ROUTES: {extra:#?}"
    );
}

/// The Pwned Passwords range check (feature `pwned-passwords`) is built
/// into exactly the functions that check new passwords: without it a
/// password function would ignore `REKEY_PWNED_PASSWORDS=on`, and with it
/// another function would link an HTTPS client path it never uses.
#[test]
fn only_the_password_functions_are_built_with_the_range_check() {
    for function in Function::ALL {
        let name = function.name();
        let manifest =
            std::fs::read_to_string(root().join("functions").join(name).join("Cargo.toml"))
                .unwrap();
        let rekey = manifest
            .lines()
            .find(|l| l.trim_start().starts_with("rekey"))
            .unwrap_or_else(|| panic!("functions/{name}/Cargo.toml has no rekey dependency"));
        assert_eq!(
            rekey.contains("\"pwned-passwords\""),
            function.checks_passwords(),
            "functions/{name}: {rekey}"
        );
    }
}

#[test]
fn every_function_crate_is_deployed() {
    let crates = function_crates();
    let in_template: BTreeSet<String> = deployed().keys().map(|k| k.to_string()).collect();
    let in_code: BTreeSet<String> = iam::functions().iter().map(|k| k.to_string()).collect();
    assert_eq!(
        crates, in_template,
        "functions/* vs the template's functions"
    );
    assert_eq!(
        in_code, in_template,
        "Function::ALL vs the template's functions"
    );

    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for (name, f) in deployed() {
        assert!(
            workspace.contains(&format!("\"functions/{name}\"")),
            "functions/{name} is not a workspace member"
        );
        let manifest =
            std::fs::read_to_string(root().join("functions").join(name).join("Cargo.toml"))
                .unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "functions/{name}/Cargo.toml must build a binary named {name}"
        );
        assert_eq!(
            f.resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{}: Metadata.BuildMethod",
            f.id
        );
        // cargo run in the function's own crate builds it with its own
        // features; from the workspace root, every member's would unify.
        assert_eq!(
            f.props()["CodeUri"].as_str(),
            Some(format!("functions/{name}").as_str()),
            "{}: CodeUri must be the function's own crate, so sam build builds it alone",
            f.id
        );
        assert_eq!(
            sub_of(&f.props()["FunctionName"]),
            Some(format!("${{AWS::StackName}}-{name}").as_str()),
            "{}: FunctionName",
            f.id
        );
        for (key, want) in [("Runtime", "provided.al2023"), ("Handler", "bootstrap")] {
            let v = f.props().get(key).unwrap_or(&globals()[key]);
            assert_eq!(v.as_str(), Some(want), "{}: {key}", f.id);
        }
        let arch = f
            .props()
            .get("Architectures")
            .unwrap_or(&globals()["Architectures"]);
        assert_eq!(
            arch.as_sequence().map(|s| s.len()),
            Some(1),
            "{}: one architecture",
            f.id
        );
        assert_eq!(
            ref_of(&arch[0]),
            Some("Architecture"),
            "{}: Architectures: [!Ref Architecture]",
            f.id
        );
        let param = &TEMPLATE["Parameters"]["Architecture"];
        assert_eq!(
            param["Default"].as_str(),
            Some("arm64"),
            "Architecture: arm64 by default"
        );

        // HTTP functions are fed by the API only; send-email by the stream
        // and the webhook retry queue.
        let kinds: Vec<_> = f
            .events()
            .iter()
            .map(|(_, e)| e["Type"].as_str().unwrap_or("?"))
            .collect();
        if name == iam::STREAM_FUNCTION {
            assert_eq!(kinds, ["DynamoDB", "SQS"], "{}: events", f.id);
        } else {
            assert!(
                !kinds.is_empty() && kinds.iter().all(|k| *k == "HttpApi"),
                "{}: events must be HttpApi routes, found {kinds:?}",
                f.id
            );
        }
    }
    for f in Function::ALL {
        assert_eq!(
            ROUTES.iter().any(|r| r.function == f),
            f.name() != iam::STREAM_FUNCTION,
            "{}: every function but the stream's consumer has a route in ROUTES",
            f.name()
        );
    }
}

#[test]
fn every_function_has_a_sample_event() {
    for (name, f) in deployed() {
        let path = root().join("events").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (sam local invoke -e needs it)", path.display()));
        let event: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if name == iam::STREAM_FUNCTION {
            let image = &event["Records"][0]["dynamodb"]["NewImage"];
            assert_eq!(
                event["Records"][0]["eventName"],
                "INSERT",
                "{}",
                path.display()
            );
            assert_eq!(
                image[table::KIND_ATTRIBUTE]["S"],
                OUTBOX_KIND,
                "{}",
                path.display()
            );
        } else {
            // The sample's routeKey is one of the function's routes.
            let routes: Vec<String> = f
                .events()
                .iter()
                .map(|(_, e)| {
                    let p = &e["Properties"];
                    format!(
                        "{} {}",
                        p["Method"].as_str().unwrap(),
                        p["Path"].as_str().unwrap()
                    )
                })
                .collect();
            let key = event["routeKey"].as_str().unwrap_or_default();
            assert!(
                routes.iter().any(|r| r == key),
                "{}: routeKey {key:?} is none of {}'s routes {routes:?}",
                path.display(),
                f.id
            );
        }
    }
}

// ------------------------------------------------------------ IAM

/// What an IAM statement's Resource points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Table,
    TableStream,
    OwnLogGroup,
    SenderIdentity,
    DeadLetterQueue,
    WebhookRetryQueue,
    WebhookDeadLetterQueue,
    /// `!Ref ServiceSecretId`: the service secret's ARN.
    ServiceSecret,
}

/// send-email's event of `kind` (`DynamoDB`: the stream; `SQS`: the
/// webhook retry queue).
fn send_email_event(kind: &str) -> &'static Value {
    let f = &deployed()[iam::STREAM_FUNCTION];
    let found: Vec<_> = f
        .events()
        .into_iter()
        .filter(|(_, e)| e["Type"].as_str() == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "send-email has one {kind} event");
    found[0].1
}

/// The queue send-email's SQS event reads: the webhook retry queue.
fn webhook_retry_queue() -> &'static str {
    let (queue, attr) = get_att(&send_email_event("SQS")["Properties"]["Queue"])
        .expect("send-email's SQS event has Queue: !GetAtt <Queue>.Arn");
    assert_eq!(attr, "Arn");
    queue
}

/// Where the retry queue's redrive policy sends what it gave up on.
fn webhook_dead_letter_queue() -> &'static str {
    let redrive = &resource(webhook_retry_queue())["Properties"]["RedrivePolicy"];
    let (queue, attr) = get_att(&redrive["deadLetterTargetArn"]).expect(
        "the webhook retry queue has RedrivePolicy.deadLetterTargetArn: !GetAtt <Queue>.Arn",
    );
    assert_eq!(attr, "Arn");
    queue
}

fn dead_letter_queue() -> &'static str {
    let e = send_email_event("DynamoDB");
    let (queue, attr) = get_att(&e["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
        .expect("send-email's stream event has DestinationConfig.OnFailure.Destination: !GetAtt <Queue>.Arn");
    assert_eq!(attr, "Arn");
    queue
}

fn target(resource: &Value, table: &str, log_group: &str, who: &str) -> Target {
    if let Some(att) = get_att(resource) {
        match att {
            (t, "Arn") if t == table => return Target::Table,
            (t, "StreamArn") if t == table => return Target::TableStream,
            (l, "Arn") if l == log_group => return Target::OwnLogGroup,
            (q, "Arn") if q == dead_letter_queue() => return Target::DeadLetterQueue,
            (q, "Arn") if q == webhook_retry_queue() => return Target::WebhookRetryQueue,
            (q, "Arn") if q == webhook_dead_letter_queue() => {
                return Target::WebhookDeadLetterQueue;
            }
            _ => {}
        }
    }
    if ref_of(resource) == Some("ServiceSecretId") {
        return Target::ServiceSecret;
    }
    if let Some(s) = sub_of(resource) {
        if s == format!("${{{table}.Arn}}/stream/*") {
            return Target::TableStream;
        }
        if s == "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderIdentity}"
        {
            return Target::SenderIdentity;
        }
    }
    panic!(
        "{who}: unexpected Resource {resource:?} (a wildcard, or something this test does not know)"
    )
}

#[test]
fn each_role_grants_exactly_what_the_code_calls() {
    let (table, _) = only("AWS::DynamoDB::Table");
    let mut roles = BTreeSet::new();
    for (name, f) in deployed() {
        let props = f.props();
        assert!(
            props.get("Policies").is_none(),
            "{}: give a Role, not Policies (SAM would add managed policies on \"*\")",
            f.id
        );
        let (role_id, attr) = get_att(&props["Role"])
            .unwrap_or_else(|| panic!("{}: Role must be !GetAtt <its role>.Arn", f.id));
        assert_eq!(attr, "Arn");
        assert!(
            roles.insert(role_id),
            "{role_id} is shared by two functions"
        );
        let role = resource(role_id);
        assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"), "{role_id}");
        let rp = &role["Properties"];
        for key in ["ManagedPolicyArns", "PermissionsBoundary"] {
            assert!(
                rp.get(key).is_none(),
                "{role_id}: no {key}; inline statements only"
            );
        }
        let trust = rp["AssumeRolePolicyDocument"]["Statement"]
            .as_sequence()
            .expect("AssumeRolePolicyDocument.Statement");
        assert_eq!(trust.len(), 1, "{role_id}: one trust statement");
        assert_eq!(
            trust[0]["Principal"]["Service"].as_str(),
            Some("lambda.amazonaws.com")
        );
        assert_eq!(trust[0]["Action"].as_str(), Some("sts:AssumeRole"));

        let log_group = ref_of(&props["LoggingConfig"]["LogGroup"]).unwrap_or_else(|| {
            panic!(
                "{}: LoggingConfig.LogGroup must be !Ref <its log group>",
                f.id
            )
        });
        let mut granted: BTreeMap<Target, BTreeSet<String>> = BTreeMap::new();
        // Each table action: the `pk` patterns its LeadingKeys condition allows.
        let mut granted_keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for policy in rp["Policies"].as_sequence().expect("inline Policies") {
            // Granted only with a pool: checked by
            // pool_statements_grant_what_the_code_calls_on_that_pool_alone.
            if intrinsic(policy, "If").is_some() {
                continue;
            }
            // On "*" with a Deny: checked by
            // the_sms_policy_texts_phone_numbers_and_nothing_else.
            if name == iam::STREAM_FUNCTION && policy["PolicyName"].as_str() == Some("sms") {
                continue;
            }
            let who = format!("{role_id}/{}", policy["PolicyName"].as_str().unwrap_or("?"));
            for st in policy["PolicyDocument"]["Statement"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{who}: Statement list"))
            {
                assert_eq!(st["Effect"].as_str(), Some("Allow"), "{who}");
                for key in ["NotAction", "NotResource", "Principal"] {
                    assert!(st.get(key).is_none(), "{who}: no {key}");
                }
                let actions: Vec<&str> = one_or_many(&st["Action"])
                    .into_iter()
                    .map(|a| str_at(a, &format!("{who}: Action")))
                    .collect();
                for a in &actions {
                    assert!(!a.contains('*'), "{who}: wildcard action {a}");
                }
                for r in one_or_many(&st["Resource"]) {
                    let t = target(r, table, log_group, &who);
                    granted
                        .entry(t)
                        .or_default()
                        .extend(actions.iter().map(|a| a.to_string()));
                    if t == Target::Table {
                        let prefixes = leading_keys_condition(st, &who);
                        for a in &actions {
                            granted_keys
                                .entry(a.to_string())
                                .or_default()
                                .extend(prefixes.iter().cloned());
                        }
                    } else {
                        assert!(
                            st.get("Condition").is_none(),
                            "{who}: no Condition off the table"
                        );
                    }
                }
            }
        }

        let set = |actions: &[&str]| {
            actions
                .iter()
                .map(|a| a.to_string())
                .collect::<BTreeSet<_>>()
        };
        let mut expected = BTreeMap::from([(Target::OwnLogGroup, set(iam::LOG_ACTIONS))]);
        let dynamodb = iam::dynamodb_actions(name).expect("iam knows every deployed function");
        if !dynamodb.is_empty() {
            expected.insert(Target::Table, set(&dynamodb));
        }
        if iam::secrets_read(name).contains(&"REKEY_SECRET") {
            expected.insert(Target::ServiceSecret, set(iam::SECRET_ACTIONS));
        }
        if name == iam::STREAM_FUNCTION {
            expected.insert(Target::TableStream, set(iam::STREAM_ACTIONS));
            expected.insert(Target::SenderIdentity, set(iam::SES_ACTIONS));
            expected.insert(Target::DeadLetterQueue, set(iam::DEAD_LETTER_ACTIONS));
            expected.insert(Target::WebhookRetryQueue, set(iam::WEBHOOK_RETRY_ACTIONS));
            expected.insert(
                Target::WebhookDeadLetterQueue,
                set(iam::WEBHOOK_DEAD_LETTER_ACTIONS),
            );
        }
        assert_eq!(
            granted, expected,
            "{role_id} ({name}) must grant exactly what the code calls (the IAM oracle, iam/)"
        );
        let expected_keys: BTreeMap<String, BTreeSet<String>> = iam::leading_keys(name)
            .expect("iam knows every deployed function")
            .into_iter()
            .map(|(action, prefixes)| {
                (
                    action.to_string(),
                    prefixes.into_iter().map(|p| format!("{p}*")).collect(),
                )
            })
            .collect();
        assert_eq!(
            granted_keys, expected_keys,
            "{role_id} ({name}): each table action's dynamodb:LeadingKeys must be the pk \
             prefixes its store calls touch (iam::leading_keys)"
        );
    }
}

/// send-email's "sms" policy: `sns:Publish` and
/// `sns:CheckIfPhoneNumberIsOptedOut` on "*" (a phone number has no ARN),
/// and a Deny of `sns:Publish` on every SNS ARN, so no topic or platform
/// endpoint can be published to. No other role has any SNS action, and the
/// functions that decide whether to text get the allow-list.
#[test]
fn the_sms_policy_texts_phone_numbers_and_nothing_else() {
    for (name, f) in deployed() {
        let (role_id, _) = get_att(&f.props()["Role"]).unwrap();
        let policies = resource(role_id)["Properties"]["Policies"]
            .as_sequence()
            .unwrap();
        let sms: Vec<&Value> = policies
            .iter()
            .filter(|p| p["PolicyName"].as_str() == Some("sms"))
            .collect();
        let all_actions = serde_json::to_string(policies).unwrap();
        if name != iam::STREAM_FUNCTION {
            assert!(sms.is_empty(), "{name}: no sms policy");
            assert!(!all_actions.contains("sns:"), "{name}: no SNS action");
            continue;
        }
        assert_eq!(sms.len(), 1, "{name}: one sms policy");
        let statements = sms[0]["PolicyDocument"]["Statement"].as_sequence().unwrap();
        let mut allowed = BTreeSet::new();
        let mut denied = Vec::new();
        for st in statements {
            let actions: Vec<String> = one_or_many(&st["Action"])
                .into_iter()
                .map(|a| str_at(a, "sms").to_string())
                .collect();
            assert!(st.get("Condition").is_none() && st.get("NotResource").is_none());
            match st["Effect"].as_str() {
                Some("Allow") => {
                    assert_eq!(st["Resource"].as_str(), Some("*"), "{st:?}");
                    allowed.extend(actions);
                }
                Some("Deny") => {
                    assert_eq!(actions, ["sns:Publish"], "{st:?}");
                    denied.push(sub_of(&st["Resource"]).expect("!Sub ARN").to_string());
                }
                other => panic!("sms: effect {other:?}"),
            }
        }
        let expected: BTreeSet<String> = iam::SNS_ACTIONS.iter().map(|a| a.to_string()).collect();
        assert_eq!(allowed, expected, "exactly what SnsTexter calls");
        assert_eq!(
            denied,
            [iam::SNS_DENIED_RESOURCE],
            "every topic and endpoint"
        );
        let env = variables(&f.props()["Environment"]);
        for var in ["REKEY_SMS_SENDER_ID", "REKEY_SMS_ORIGINATION_NUMBER"] {
            assert!(env.iter().any(|(k, _)| *k == var), "{name} sets {var}");
        }
    }
    let globals = variables(&globals()["Environment"]);
    for (var, param) in [
        ("REKEY_SMS_COUNTRY_CALLING_CODES", "SmsCountryCallingCodes"),
        ("REKEY_LIMIT_SMS_PER_HOUR", "LimitSmsPerHour"),
    ] {
        let (_, value) = globals
            .iter()
            .find(|(k, _)| *k == var)
            .unwrap_or_else(|| panic!("Globals set {var}"));
        assert_eq!(ref_of(value), Some(param), "{var}");
    }
    // Texts are off until the operator lists countries.
    assert_eq!(
        TEMPLATE["Parameters"]["SmsCountryCallingCodes"]["Default"].as_str(),
        Some("")
    );
}

/// With `CognitoUserPoolId` set, each role gets one more policy: the
/// Cognito actions `iam::cognito_actions` names, on that pool's ARN
/// alone, and the table writes of `iam::pool_store_calls`; without
/// it, nothing (`AWS::NoValue`). Functions that touch no pool get none.
#[test]
fn pool_statements_grant_what_the_code_calls_on_that_pool_alone() {
    let (table, _) = only("AWS::DynamoDB::Table");
    let pool_arn = "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/${CognitoUserPoolId}";
    let mut with_pool = BTreeSet::new();
    for (name, f) in deployed() {
        let (role_id, _) = get_att(&f.props()["Role"]).unwrap();
        let conditional: Vec<&Value> = resource(role_id)["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|p| intrinsic(p, "If"))
            // The edge and webhook secrets' reads: checked by
            // functions_get_their_secrets_by_arn_and_their_roles_read_only_those.
            .filter(|p| {
                p.as_sequence().is_some_and(|b| {
                    !matches!(b[0].as_str(), Some("HasEdge") | Some("HasWebhookSecrets"))
                })
            })
            .collect();
        let cognito = iam::cognito_actions(name);
        if cognito.is_empty() {
            assert!(
                conditional.is_empty(),
                "{role_id}: no pool, no conditional policy"
            );
            assert!(iam::pool_store_calls(name).is_empty(), "{name}");
            continue;
        }
        with_pool.insert(name);
        assert_eq!(
            conditional.len(),
            1,
            "{role_id}: one policy only with a pool"
        );
        let branches = conditional[0]
            .as_sequence()
            .expect("[condition, then, else]");
        assert_eq!(branches[0].as_str(), Some("HasCognitoPool"), "{role_id}");
        assert_eq!(ref_of(&branches[2]), Some("AWS::NoValue"), "{role_id}");
        let mut granted_cognito = BTreeSet::new();
        let mut granted_keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for st in branches[1]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
        {
            assert_eq!(st["Effect"].as_str(), Some("Allow"), "{role_id}");
            let actions: Vec<String> = one_or_many(&st["Action"])
                .into_iter()
                .map(|a| str_at(a, role_id).to_string())
                .collect();
            let resource = &st["Resource"];
            if sub_of(resource) == Some(pool_arn) {
                assert!(st.get("Condition").is_none(), "{role_id}");
                granted_cognito.extend(actions);
            } else {
                assert_eq!(
                    get_att(resource),
                    Some((table, "Arn")),
                    "{role_id}: {resource:?}"
                );
                let prefixes = leading_keys_condition(st, role_id);
                for a in actions {
                    granted_keys
                        .entry(a)
                        .or_default()
                        .extend(prefixes.iter().cloned());
                }
            }
        }
        let expected: BTreeSet<String> = cognito.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            granted_cognito, expected,
            "{role_id} ({name}): cognito-idp actions"
        );
        let expected_keys: BTreeMap<String, BTreeSet<String>> = iam::pool_leading_keys(name)
            .into_iter()
            .map(|(a, p)| {
                (
                    a.to_string(),
                    p.into_iter().map(|p| format!("{p}*")).collect(),
                )
            })
            .collect();
        assert_eq!(
            granted_keys, expected_keys,
            "{role_id} ({name}): pool-only table writes"
        );
        let env = variables(&f.props()["Environment"]);
        for var in ["REKEY_DIRECTORY", "REKEY_COGNITO_USER_POOL_ID"] {
            assert!(env.iter().any(|(k, _)| *k == var), "{name} sets {var}");
        }
    }
    assert!(with_pool.contains("reset-account") && with_pool.contains(iam::STREAM_FUNCTION));
}

/// The `pk` patterns of a table statement's one condition,
/// `ForAllValues:StringLike` on `dynamodb:LeadingKeys`: DynamoDB matches
/// every partition key a request touches (each item of a transaction)
/// against them. A statement without it would be table-wide.
fn leading_keys_condition(st: &Value, who: &str) -> BTreeSet<String> {
    let condition = st["Condition"].as_mapping().unwrap_or_else(|| {
        panic!("{who}: a table statement needs a dynamodb:LeadingKeys condition")
    });
    assert_eq!(condition.len(), 1, "{who}: one condition operator");
    let like = condition
        .get("ForAllValues:StringLike")
        .and_then(Value::as_mapping)
        .unwrap_or_else(|| panic!("{who}: the condition must be ForAllValues:StringLike"));
    assert_eq!(like.len(), 1, "{who}: one condition key");
    let patterns: BTreeSet<String> = one_or_many(&like["dynamodb:LeadingKeys"])
        .into_iter()
        .map(|p| str_at(p, &format!("{who}: dynamodb:LeadingKeys")).to_string())
        .collect();
    for p in &patterns {
        assert!(
            p.ends_with("#*") && !p[..p.len() - 1].contains(['*', '?']),
            "{who}: {p} must be one item type's pk prefix and *"
        );
    }
    patterns
}

/// Every `Store` method is placed: called by some function (with the
/// actions its DynamoDB calls need) or listed as rekeyctl's. The methods are
/// `iam::StoreMethod::ALL`, which the recording store of iam_reach.rs maps
/// every role trait method to (it does not compile while a trait method
/// has no `StoreMethod`).
#[test]
fn iam_places_every_store_method() {
    let methods: BTreeSet<StoreMethod> = StoreMethod::ALL.iter().copied().collect();
    assert!(
        methods.contains(&StoreMethod::InsertGrant)
            && methods.contains(&StoreMethod::MailDelivered),
        "{methods:?}"
    );
    let mut placed: BTreeSet<StoreMethod> = iam::NOT_IN_LAMBDAS.iter().copied().collect();
    for f in iam::functions() {
        for call in iam::store_calls(f).unwrap() {
            let method = call.method;
            assert!(
                !iam::NOT_IN_LAMBDAS.contains(&method),
                "{f} calls {method:?}, which iam::NOT_IN_LAMBDAS lists"
            );
            assert_eq!(
                call.redeeming.is_some(),
                method == StoreMethod::ChangePassword,
                "{f}: only change_password names what it redeems"
            );
            placed.insert(method);
        }
        placed.extend(iam::pool_store_calls(f).iter().map(|c| c.method));
    }
    let unplaced: Vec<_> = methods.difference(&placed).collect();
    let unknown: Vec<_> = placed.difference(&methods).collect();
    assert!(
        unplaced.is_empty() && unknown.is_empty(),
        "the IAM oracle is out of date with trait Store.\n\
         Store methods the IAM oracle does not place: {unplaced:?}\n\
         (add a StoreCall with the DynamoDB actions store::dynamo needs to each function \
         that reaches it, or list it in NOT_IN_LAMBDAS; then update template.yaml's roles)\n\
         methods the IAM oracle names that trait Store does not have: {unknown:?}"
    );
}

// ------------------------------------------------------------ table and stream

#[test]
fn the_table_is_the_one_the_store_uses() {
    let (id, t) = only("AWS::DynamoDB::Table");
    for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
        assert_eq!(t[policy].as_str(), Some("Retain"), "{id}: {policy}");
    }
    let p = &t["Properties"];
    assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    let keys: Vec<(&str, &str)> = p["KeySchema"]
        .as_sequence()
        .expect("KeySchema")
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap(),
                k["KeyType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [(table::PARTITION_KEY, "HASH"), (table::SORT_KEY, "RANGE")]
    );
    let attrs: BTreeSet<(&str, &str)> = p["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap(),
                a["AttributeType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attrs,
        BTreeSet::from([(table::PARTITION_KEY, "S"), (table::SORT_KEY, "S")])
    );
    let ttl = &p["TimeToLiveSpecification"];
    assert_eq!(ttl["AttributeName"].as_str(), Some(table::TTL_ATTRIBUTE));
    assert_eq!(ttl["Enabled"].as_bool(), Some(true));
    assert_eq!(
        p["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_IMAGE")
    );
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    assert_eq!(
        ref_of(&globals()["Environment"]["Variables"]["REKEY_TABLE"]),
        Some(id),
        "REKEY_TABLE must be !Ref {id}"
    );
}

#[test]
fn send_email_reads_outbox_inserts_with_retries_and_a_dead_letter_queue() {
    let (table_id, _) = only("AWS::DynamoDB::Table");
    let f = &deployed()[iam::STREAM_FUNCTION];
    assert_eq!(
        f.events().len(),
        2,
        "send-email has two events: the stream and the webhook retry queue"
    );
    let e = send_email_event("DynamoDB");
    let p = &e["Properties"];
    assert_eq!(get_att(&p["Stream"]), Some((table_id, "StreamArn")));

    let filters = p["FilterCriteria"]["Filters"]
        .as_sequence()
        .expect("FilterCriteria.Filters");
    assert_eq!(filters.len(), 1, "one filter");
    let pattern: serde_json::Value =
        serde_json::from_str(str_at(&filters[0]["Pattern"], "Filters[0].Pattern"))
            .expect("the pattern is JSON");
    let mut image = serde_json::Map::new();
    image.insert(
        table::KIND_ATTRIBUTE.to_string(),
        serde_json::json!({"S": [INTAKE_KIND, OUTBOX_KIND]}),
    );
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": image}}),
        "the filter must select inserts of {}={INTAKE_KIND} and {OUTBOX_KIND}",
        table::KIND_ATTRIBUTE
    );

    let types: Vec<_> = p["FunctionResponseTypes"]
        .as_sequence()
        .expect("FunctionResponseTypes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        types,
        ["ReportBatchItemFailures"],
        "partial batch responses"
    );
    assert_eq!(p["BisectBatchOnFunctionError"].as_bool(), Some(true));
    let retries = p["MaximumRetryAttempts"]
        .as_i64()
        .expect("MaximumRetryAttempts is set");
    assert!(
        (0..=10_000).contains(&retries),
        "bounded retries, found {retries}"
    );
    let batch = p["BatchSize"].as_i64().expect("BatchSize is set");
    assert!((1..=100).contains(&batch), "BatchSize {batch}");
    // TRIM_HORIZON: a (re)created mapping misses no outbox item; sent ones
    // are skipped because delivery deletes them (docs/deploy.md).
    assert_eq!(p["StartingPosition"].as_str(), Some("TRIM_HORIZON"));

    let queue = resource(dead_letter_queue());
    assert_eq!(queue["Type"].as_str(), Some("AWS::SQS::Queue"));
    let qp = &queue["Properties"];
    assert_eq!(qp["MessageRetentionPeriod"].as_i64(), Some(14 * 24 * 3600));
    assert!(
        qp["SqsManagedSseEnabled"].as_bool() == Some(true) || qp.get("KmsMasterKeyId").is_some(),
        "the dead-letter queue is encrypted"
    );
}

#[test]
fn webhook_retries_wait_in_sqs_and_end_in_their_own_dead_letter_queue() {
    let p = &send_email_event("SQS")["Properties"];
    let types: Vec<_> = p["FunctionResponseTypes"]
        .as_sequence()
        .expect("FunctionResponseTypes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        types,
        ["ReportBatchItemFailures"],
        "partial batch responses"
    );
    let batch = p["BatchSize"].as_i64().expect("BatchSize is set");
    assert!((1..=10).contains(&batch), "BatchSize {batch}");

    let retry = &resource(webhook_retry_queue())["Properties"];
    let timeout = deployed()[iam::STREAM_FUNCTION].props()["Timeout"]
        .as_i64()
        .expect("send-email sets its Timeout");
    assert!(
        retry["VisibilityTimeout"].as_i64().unwrap_or(30) >= 6 * timeout,
        "the retry queue's VisibilityTimeout is at least six times send-email's timeout"
    );
    let receives = retry["RedrivePolicy"]["maxReceiveCount"]
        .as_i64()
        .expect("maxReceiveCount is set");
    assert!((1..=10).contains(&receives), "maxReceiveCount {receives}");
    assert_ne!(
        webhook_dead_letter_queue(),
        dead_letter_queue(),
        "webhooks have their own dead-letter queue"
    );
    for q in [webhook_retry_queue(), webhook_dead_letter_queue()] {
        let qp = &resource(q)["Properties"];
        assert_eq!(resource(q)["Type"].as_str(), Some("AWS::SQS::Queue"));
        assert_eq!(
            qp["SqsManagedSseEnabled"].as_bool(),
            Some(true),
            "{q} is encrypted"
        );
    }

    // send-email finds both queues, and alone reads the endpoints' secrets.
    let vars = &deployed()[iam::STREAM_FUNCTION].props()["Environment"]["Variables"];
    assert_eq!(
        ref_of(&vars["REKEY_WEBHOOK_RETRY_QUEUE_URL"]),
        Some(webhook_retry_queue())
    );
    assert_eq!(
        ref_of(&vars["REKEY_WEBHOOK_DEAD_LETTER_URL"]),
        Some(webhook_dead_letter_queue())
    );
    let secrets = intrinsic(&vars["REKEY_WEBHOOK_SECRETS_ID"], "If")
        .and_then(Value::as_sequence)
        .expect("REKEY_WEBHOOK_SECRETS_ID is !If [HasWebhookSecrets, !Ref WebhookSecretsId, \"\"]");
    assert_eq!(secrets[0].as_str(), Some("HasWebhookSecrets"));
    assert_eq!(ref_of(&secrets[1]), Some("WebhookSecretsId"));
    assert_eq!(secrets[2].as_str(), Some(""));
    assert!(
        globals()["Environment"]["Variables"]["REKEY_WEBHOOK_SECRETS_ID"].is_null(),
        "only send-email reads the webhook secrets"
    );
    for (name, f) in deployed() {
        if name != iam::STREAM_FUNCTION {
            assert!(
                f.props()["Environment"]["Variables"]["REKEY_WEBHOOK_SECRETS_ID"].is_null(),
                "{name} must not be told where the webhook secrets are"
            );
        }
    }
}

// ------------------------------------------------------------ environment

/// Every `"REKEY_..."` string literal in shared/src: the variables the
/// functions' code reads (all configuration goes through `EnvReader`).
fn variables_read_by_code() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("\"REKEY_") {
                    let rest = &text[at + 1..];
                    let end = rest
                        .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                        .unwrap_or(rest.len());
                    if rest[end..].starts_with('"') {
                        found.insert(rest[..end].to_string());
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&root().join("shared").join("src"), &mut found);
    found
}

fn variables(env: &Value) -> Vec<(&str, &Value)> {
    env["Variables"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().expect("variable names are strings"), v))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_template_sets_only_variables_the_code_reads() {
    let read = variables_read_by_code();
    for must in [
        "REKEY_SECRET_ID",
        "REKEY_TABLE",
        "REKEY_RESET_URL",
        "REKEY_MAIL_FROM",
    ] {
        assert!(
            read.contains(must),
            "the scan of shared/src misses {must}: {read:?}"
        );
    }
    let deploy_doc =
        std::fs::read_to_string(root().join("docs").join("deploy.md")).unwrap_or_default();
    let mut set = BTreeMap::new();
    for (name, v) in variables(&globals()["Environment"]) {
        set.insert(name, ("Globals", v));
    }
    for (fname, f) in deployed() {
        for (name, v) in variables(&f.props()["Environment"]) {
            set.insert(name, (fname, v));
        }
    }
    for (name, (whose, value)) in &set {
        assert!(
            deploy_doc.contains(name),
            "docs/deploy.md does not mention {name}"
        );
        if *name == "AWS_ENDPOINT_URL" {
            // Only for sam local: empty (no endpoint) in AWS.
            let branches = intrinsic(value, "If")
                .and_then(Value::as_sequence)
                .expect("AWS_ENDPOINT_URL must be !If [condition, url, \"\"]");
            assert_eq!(branches.len(), 3);
            assert_eq!(
                branches[2].as_str(),
                Some(""),
                "AWS_ENDPOINT_URL when not local"
            );
            continue;
        }
        assert!(
            read.contains(*name),
            "{whose} sets {name}, which no code in shared/src reads"
        );
    }

    let global = |n: &str| &globals()["Environment"]["Variables"][n];
    for n in ["REKEY_SECRET_ID", "REKEY_TABLE", "REKEY_RESET_URL"] {
        assert!(
            !global(n).is_null(),
            "every function needs {n}: set it in Globals"
        );
    }
    assert_eq!(
        ref_of(global("REKEY_SECRET_ID")),
        Some("ServiceSecretId"),
        "the functions get the service secret's ARN, and read the value at init"
    );
    let send_email = &deployed()[iam::STREAM_FUNCTION];
    assert!(
        !send_email.props()["Environment"]["Variables"]["REKEY_MAIL_FROM"].is_null(),
        "send-email needs REKEY_MAIL_FROM"
    );
    assert!(
        global("REKEY_MAIL_FROM").is_null(),
        "only send-email sends mail"
    );
}

// ------------------------------------------------------------ logs, API, alarms

#[test]
fn each_function_logs_json_to_its_own_log_group_with_retention() {
    let logging = &globals()["LoggingConfig"];
    assert_eq!(
        logging["LogFormat"].as_str(),
        Some("JSON"),
        "Lambda sets AWS_LAMBDA_LOG_FORMAT from LogFormat; telemetry reads it"
    );
    assert!(!logging["ApplicationLogLevel"].is_null());
    let mut used = BTreeSet::new();
    for (name, f) in deployed() {
        let lg = ref_of(&f.props()["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{}: LoggingConfig.LogGroup", f.id));
        assert!(used.insert(lg), "{lg} is shared");
        let group = resource(lg);
        assert_eq!(group["Type"].as_str(), Some("AWS::Logs::LogGroup"));
        assert_eq!(
            sub_of(&group["Properties"]["LogGroupName"]),
            Some(format!("/aws/lambda/${{AWS::StackName}}-{name}").as_str()),
            "{lg}: named like its function's default log group"
        );
        let retention = ref_of(&group["Properties"]["RetentionInDays"])
            .unwrap_or_else(|| panic!("{lg}: RetentionInDays from a parameter"));
        assert!(
            !TEMPLATE["Parameters"][retention].is_null(),
            "{lg}: {retention} is a parameter"
        );
    }
}

#[test]
fn the_api_is_throttled_and_has_configurable_cors() {
    let (_, api) = only("AWS::Serverless::HttpApi");
    let p = &api["Properties"];
    for key in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
        let param = ref_of(&p["DefaultRouteSettings"][key])
            .unwrap_or_else(|| panic!("DefaultRouteSettings.{key} from a parameter"));
        assert!(!TEMPLATE["Parameters"][param].is_null());
    }
    assert!(!p["CorsConfiguration"].is_null(), "CorsConfiguration");
}

#[test]
fn alarms_watch_the_dead_letter_queue_the_api_and_mail() {
    let (api, _) = only("AWS::Serverless::HttpApi");
    let dlq = dead_letter_queue();
    let alarms = of_type("AWS::CloudWatch::Alarm");
    let find = |namespace: &str, metric: &str| {
        alarms
            .iter()
            .find(|(_, a)| {
                a["Properties"]["Namespace"].as_str() == Some(namespace)
                    && a["Properties"]["MetricName"].as_str() == Some(metric)
            })
            .map(|(_, a)| &a["Properties"])
            .unwrap_or_else(|| panic!("no alarm on {namespace} {metric}"))
    };
    let dimension = |alarm: &'static Value, name: &str| -> &'static Value {
        alarm["Dimensions"]
            .as_sequence()
            .and_then(|d| d.iter().find(|d| d["Name"].as_str() == Some(name)))
            .map(|d| &d["Value"])
            .unwrap_or_else(|| panic!("alarm has no {name} dimension"))
    };
    let queue = find("AWS/SQS", "ApproximateNumberOfMessagesVisible");
    assert_eq!(
        get_att(dimension(queue, "QueueName")),
        Some((dlq, "QueueName"))
    );
    let errors = find("AWS/ApiGateway", "5xx");
    assert_eq!(ref_of(dimension(errors, "ApiId")), Some(api));
    find(NAMESPACE, Metric::MailsFailed.name());
}

#[test]
fn outputs_name_the_api_the_table_and_the_queue() {
    let (table_id, _) = only("AWS::DynamoDB::Table");
    let outputs = &TEMPLATE["Outputs"];
    assert!(sub_of(&outputs["ApiUrl"]["Value"]).is_some_and(|s| s.contains("execute-api")));
    assert_eq!(ref_of(&outputs["TableName"]["Value"]), Some(table_id));
    assert_eq!(
        ref_of(&outputs["DeadLetterQueueUrl"]["Value"]),
        Some(dead_letter_queue())
    );
}

/// Each Lambda's main.rs calls its operation directly (a dispatch through
/// `Function::handle` would link every contract into every binary), so the
/// declaration and the binaries must name the same operation.
#[test]
fn each_function_main_calls_the_operation_its_declaration_names() {
    for f in Function::ALL {
        let path = root().join("functions").join(f.name()).join("src/main.rs");
        let main =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (module, op) = f.operation().rsplit_once("::").expect("module::op");
        let calls = match f {
            Function::ResetPage => vec![format!("rekey::{module}::{op}(&page, &req)")],
            Function::Discovery => vec![format!("rekey::{module}::{op}(&discovery, &req)")],
            Function::SendEmail => vec![
                format!("use rekey::{module}::{{StreamEvent, {op}}};"),
                format!("{op}(&reset, &outbox, batch)"),
            ],
            _ => vec![
                format!("use rekey::{module}::{op};"),
                format!("{op}(&app, req)"),
            ],
        };
        for call in calls {
            assert!(
                main.contains(&call),
                "{} must call {} ({call}), as its declaration says",
                path.display(),
                f.operation()
            );
        }
        assert!(
            !main.contains("Function::"),
            "{}: call the operation directly, not through Function",
            path.display()
        );
    }
    // And each builds its dependencies with its own constructor, the one
    // tests/integration/wiring.rs checks against the template.
    for name in iam::functions() {
        let path = root().join("functions").join(name).join("src/main.rs");
        let main = std::fs::read_to_string(&path).unwrap();
        // The functions that hold a secret read it first (Secrets Manager).
        let environment = if iam::secrets_read(name).is_empty() {
            "rekey::wiring::Environment::process()"
        } else {
            "rekey::wiring::environment().await?"
        };
        let constructor = format!("rekey::wiring::{}(&{environment})", name.replace('-', "_"));
        assert!(
            main.contains(&constructor),
            "{} must build its dependencies with {constructor}",
            path.display()
        );
    }
}

/// With the edge on, CloudFront adds `http::EDGE_SECRET_HEADER` with the
/// value the functions read as `REKEY_EDGE_SECRET`, one generated secret;
/// without the edge the functions get no such variable.
#[test]
fn the_edge_adds_the_secret_the_functions_trust_its_viewer_address_by() {
    let (distribution, d) = only("AWS::CloudFront::Distribution");
    let origins = d["Properties"]["DistributionConfig"]["Origins"]
        .as_sequence()
        .expect("the distribution's Origins");
    assert_eq!(origins.len(), 1, "{distribution}: one origin, the HTTP API");
    let headers = origins[0]["OriginCustomHeaders"]
        .as_sequence()
        .expect("the origin adds custom headers");
    let header = headers
        .iter()
        .find(|h| {
            h["HeaderName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(rekey::http::EDGE_SECRET_HEADER))
        })
        .unwrap_or_else(|| panic!("{distribution} adds {}", rekey::http::EDGE_SECRET_HEADER));
    let (secret_id, secret) = only("AWS::SecretsManager::Secret");
    assert_eq!(secret["Condition"].as_str(), Some("HasEdge"));
    let resolved = format!("{{{{resolve:secretsmanager:${{{secret_id}}}:SecretString}}}}");
    assert_eq!(sub_of(&header["HeaderValue"]), Some(resolved.as_str()));

    // The functions get the secret's ARN (its !Ref), and read the value.
    let variable = &globals()["Environment"]["Variables"]["REKEY_EDGE_SECRET_ID"];
    let branches = intrinsic(variable, "If")
        .and_then(Value::as_sequence)
        .expect("REKEY_EDGE_SECRET_ID must be !If [HasEdge, !Ref the secret, \"\"]");
    assert_eq!(branches[0].as_str(), Some("HasEdge"));
    assert_eq!(ref_of(&branches[1]), Some(secret_id));
    // Empty (read as unset) rather than NoValue, which sam local cannot
    // resolve inside !If.
    assert_eq!(branches[2].as_str(), Some(""));
}

/// The parameter naming the one principal that may rewrite the key policy.
const KEY_ADMINISTRATOR: &str = "KeyAdministratorArn";

/// The access-token signing key: RSA in KMS, used by exactly the roles and
/// actions `iam::kms_actions` names (through the key policy; the
/// account administers it without kms:Sign, kms:CreateGrant or
/// kms:PutKeyPolicy, and Denies keep every other principal from signing or
/// granting whatever IAM allows), and named to each function that uses it.
#[test]
fn the_signing_key_is_rsa_in_kms_and_its_policy_grants_what_the_code_calls() {
    let (key_id, key) = only("AWS::KMS::Key");
    let props = &key["Properties"];
    assert_eq!(props["KeySpec"].as_str(), Some("RSA_2048"));
    assert_eq!(props["KeyUsage"].as_str(), Some("SIGN_VERIFY"));
    let admin = TEMPLATE["Parameters"]
        .get(KEY_ADMINISTRATOR)
        .expect("a KeyAdministratorArn parameter");
    assert!(
        admin.get("Default").is_none(),
        "{KEY_ADMINISTRATOR} is required: no principal changes the policy by default"
    );
    let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut denied: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    for st in props["KeyPolicy"]["Statement"]
        .as_sequence()
        .expect("KeyPolicy.Statement")
    {
        let actions: BTreeSet<String> = one_or_many(&st["Action"])
            .into_iter()
            .map(|a| str_at(a, "KeyPolicy Action").to_string())
            .collect();
        let principal = &st["Principal"]["AWS"];
        if st["Effect"].as_str() == Some("Deny") {
            assert_eq!(
                principal.as_str(),
                Some("*"),
                "{key_id}: a Deny holds for all"
            );
            let except = st.get("Condition").map(|c| {
                let arns = &c["ArnNotEquals"]["aws:PrincipalArn"];
                one_or_many(arns)
                    .into_iter()
                    .map(|a| match (get_att(a), ref_of(a)) {
                        (Some((role, "Arn")), _) => role.to_string(),
                        (_, Some(param)) => param.to_string(),
                        _ => panic!("{key_id}: a Deny excepts roles or {KEY_ADMINISTRATOR}"),
                    })
                    .collect()
            });
            for a in actions {
                assert!(
                    denied.insert(a.clone(), except.clone()).is_none(),
                    "{key_id}: {a} denied twice"
                );
            }
            continue;
        }
        assert_eq!(st["Effect"].as_str(), Some("Allow"));
        if let Some((role, "Arn")) = get_att(principal) {
            granted.entry(role.to_string()).or_default().extend(actions);
        } else if ref_of(principal) == Some(KEY_ADMINISTRATOR) {
            for a in &actions {
                assert!(
                    ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"]
                        .contains(&a.as_str()),
                    "{key_id}: the key administrator changes the policy, nothing else ({a})"
                );
            }
        } else {
            assert!(
                sub_of(principal).is_some_and(|s| s.ends_with(":root")),
                "{key_id}: principals are the account root, {KEY_ADMINISTRATOR} or a function's role"
            );
            for a in &actions {
                // A wildcard would bring CreateGrant or PutKeyPolicy back,
                // and either lets an IAM principal make itself a signer.
                assert!(
                    !a.contains('*')
                        && ![
                            "kms:Sign",
                            "kms:Verify",
                            "kms:CreateGrant",
                            "kms:PutKeyPolicy"
                        ]
                        .contains(&a.as_str()),
                    "{key_id}: the account administers the key, it does not sign or delegate ({a})"
                );
            }
        }
    }
    let signers: BTreeSet<String> = granted
        .iter()
        .filter(|(_, actions)| actions.contains("kms:Sign"))
        .map(|(role, _)| role.clone())
        .collect();
    assert!(!signers.is_empty());
    let mut expected_denied: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    expected_denied.insert("kms:CreateGrant".into(), None);
    expected_denied.insert("kms:Sign".into(), Some(signers));
    expected_denied.insert(
        "kms:PutKeyPolicy".into(),
        Some([KEY_ADMINISTRATOR.to_string()].into()),
    );
    assert_eq!(
        denied, expected_denied,
        "{key_id}: no grants, only the signing roles sign (whatever IAM says), only {KEY_ADMINISTRATOR} rewrites the policy"
    );
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, f) in deployed() {
        let actions = iam::kms_actions(name);
        let signing_key = variables(&f.props()["Environment"])
            .into_iter()
            .find(|(k, _)| *k == "REKEY_SIGNING_KEY")
            .map(|(_, v)| get_att(v));
        if actions.is_empty() {
            assert!(
                signing_key.is_none(),
                "{name} does not sign: no REKEY_SIGNING_KEY"
            );
            continue;
        }
        assert_eq!(
            signing_key,
            Some(Some((key_id, "Arn"))),
            "{name}: REKEY_SIGNING_KEY"
        );
        let (role, _) = get_att(&f.props()["Role"]).expect("a role");
        expected.insert(
            role.to_string(),
            actions.iter().map(|a| a.to_string()).collect(),
        );
    }
    assert_eq!(
        granted, expected,
        "{key_id}'s policy must grant what the IAM oracle says"
    );
    let outputs = &TEMPLATE["Outputs"];
    for output in ["Issuer", "JwksUri"] {
        assert!(outputs.get(output).is_some(), "output {output}");
    }
}

// ------------------------------------------------------------ secrets by ARN

/// No secret value is in any function's configuration (what
/// `lambda:GetFunctionConfiguration` shows): each function gets its
/// secrets' ARNs (`config::stored_secrets`), never a value variable or a
/// dynamic reference CloudFormation would resolve into it, and exactly the
/// ARNs of the secrets it reads (`iam::secrets_read`); its role may
/// `secretsmanager:GetSecretValue` those secrets and no other (the service
/// secret is checked with every unconditional statement by
/// `each_role_grants_exactly_what_the_code_calls`; the edge and webhook
/// secrets exist only under their conditions, checked here).
#[test]
fn functions_get_their_secrets_by_arn_and_their_roles_read_only_those() {
    use rekey::config::stored_secrets::STORED;
    let values: Vec<&str> = STORED
        .iter()
        .map(|s| s.value)
        .chain(["REKEY_SECRET_PREVIOUS"])
        .collect();
    let text = |v: &Value| serde_norway::to_string(v).unwrap();
    for (name, f) in deployed() {
        let mut vars: BTreeMap<&str, &Value> =
            variables(&globals()["Environment"]).into_iter().collect();
        vars.extend(variables(&f.props()["Environment"]));
        for (var, value) in &vars {
            assert!(
                !values.contains(var),
                "{name} is given {var}: a secret's value, readable from its configuration"
            );
            assert!(
                !text(value).contains("{{resolve:"),
                "{name}: {var} resolves a secret into the configuration"
            );
        }
        let given: BTreeSet<&str> = STORED
            .iter()
            .filter(|s| {
                vars.get(s.reference)
                    .is_some_and(|v| v.as_str() != Some(""))
            })
            .map(|s| s.value)
            .collect();
        let reads: BTreeSet<&str> = iam::secrets_read(name).iter().copied().collect();
        assert_eq!(
            given, reads,
            "{name} is told where exactly the secrets it reads are"
        );

        let (role_id, _) = get_att(&f.props()["Role"]).expect("Role: !GetAtt");
        let mut conditional = BTreeMap::new();
        for policy in resource(role_id)["Properties"]["Policies"]
            .as_sequence()
            .expect("inline Policies")
        {
            let Some(args) = intrinsic(policy, "If").and_then(Value::as_sequence) else {
                continue;
            };
            let policy_name = args[1]["PolicyName"].as_str().unwrap_or("?");
            if !text(&args[1]).contains("secretsmanager") {
                continue;
            }
            let statements = args[1]["PolicyDocument"]["Statement"]
                .as_sequence()
                .expect("Statement list");
            assert_eq!(
                statements.len(),
                1,
                "{role_id}/{policy_name}: one statement"
            );
            let st = &statements[0];
            assert_eq!(st["Effect"].as_str(), Some("Allow"));
            let actions: Vec<&str> = one_or_many(&st["Action"])
                .into_iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(actions, iam::SECRET_ACTIONS, "{role_id}/{policy_name}");
            assert!(st.get("Condition").is_none(), "{role_id}/{policy_name}");
            assert_eq!(ref_of(&args[2]), Some("AWS::NoValue"));
            conditional.insert(
                policy_name.to_string(),
                (
                    args[0].as_str().unwrap_or("?").to_string(),
                    ref_of(&st["Resource"]).unwrap_or("?").to_string(),
                ),
            );
        }
        let mut want = BTreeMap::new();
        let (edge_secret, _) = only("AWS::SecretsManager::Secret");
        if reads.contains("REKEY_EDGE_SECRET") {
            want.insert(
                "edge-secret".to_string(),
                ("HasEdge".to_string(), edge_secret.to_string()),
            );
        }
        if reads.contains("REKEY_WEBHOOK_SECRETS") {
            want.insert(
                "webhook-secrets".to_string(),
                (
                    "HasWebhookSecrets".to_string(),
                    "WebhookSecretsId".to_string(),
                ),
            );
        }
        assert_eq!(
            conditional, want,
            "{role_id} ({name}): conditional secret reads (policy -> condition, secret)"
        );
    }
    // The parameters name secrets by ARN: IAM grants on ARNs, not names.
    for parameter in ["ServiceSecretId", "WebhookSecretsId"] {
        let pattern = TEMPLATE["Parameters"][parameter]["AllowedPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{parameter} has an AllowedPattern"));
        assert!(pattern.contains("arn:aws"), "{parameter}: {pattern}");
    }
}
