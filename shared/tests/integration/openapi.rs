//! docs/openapi.yaml against the route table: every route is documented,
//! every documented operation is a route, and each operation documents what
//! the transport rules say every route answers. What the server really answers
//! is checked against the same document by scripts/checks/schemathesis.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use rekey::routes::{Function, ROUTES};
use serde_json::Value;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    let text = std::fs::read_to_string(DOC).unwrap_or_else(|e| panic!("cannot read {DOC}: {e}"));
    // Through serde_json::Value: YAML keys that are not strings (such as an
    // unquoted `200:`) are rejected, as JSON-based OpenAPI tools would.
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{DOC} is not valid YAML: {e}"))
}

/// One documented operation.
struct Operation<'a> {
    method: String,
    path: &'a str,
    op: &'a Value,
    /// Parameters declared on the path item, shared by its operations.
    path_params: &'a [Value],
}

impl Operation<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }
}

fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let paths = doc["paths"]
        .as_object()
        .expect("`paths` is a map of path items");
    let mut ops = Vec::new();
    for (path, item) in paths {
        let item = item
            .as_object()
            .unwrap_or_else(|| panic!("{path}: not a path item"));
        let path_params = item
            .get("parameters")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (key, op) in item {
            if METHODS.contains(&key.as_str()) {
                ops.push(Operation {
                    method: key.clone(),
                    path,
                    op,
                    path_params,
                });
            }
        }
    }
    ops
}

/// Follows a local `$ref` (`#/components/...`), if the value is one.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local references are used: {r}"));
            let target = doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{r} does not resolve"));
            resolve(doc, target)
        }
        None => value,
    }
}

fn collect_refs<'a>(value: &'a Value, into: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => into.push(r),
                    _ => collect_refs(v, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// The `{name}` segments of a path template.
fn template_params(path: &str) -> BTreeSet<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

#[test]
fn document_is_openapi_3_1_with_a_description() {
    let doc = doc();
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1, got {version}");
    for field in ["title", "version", "description"] {
        assert!(
            doc["info"][field]
                .as_str()
                .is_some_and(|s| !s.trim().is_empty()),
            "info.{field} is missing or empty"
        );
    }
}

#[test]
fn every_route_is_an_operation_and_every_operation_a_route() {
    let doc = doc();
    let documented: BTreeMap<(String, String), &Value> = operations(&doc)
        .into_iter()
        .map(|o| ((o.method.to_uppercase(), o.path.to_string()), o.op))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_uppercase(), r.path.to_string()))
        .collect();

    let undocumented: Vec<_> = routed
        .iter()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let unrouted: Vec<_> = documented.keys().filter(|k| !routed.contains(*k)).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from docs/openapi.yaml: {undocumented:?}; \
         operations in docs/openapi.yaml that are not in ROUTES: {unrouted:?}"
    );

    // Each operation names the function (Lambda) that serves it.
    for r in ROUTES {
        let op = documented[&(r.method.to_uppercase(), r.path.to_string())];
        assert_eq!(
            op["x-rekey-function"].as_str(),
            Some(r.function.name()),
            "{} {}: x-rekey-function",
            r.method,
            r.path
        );
    }
}

#[test]
fn operations_have_unique_ids_tags_and_documented_responses() {
    let doc = doc();
    let declared_tags: HashSet<&str> = doc["tags"]
        .as_array()
        .expect("top-level `tags` lists the contracts")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let mut ids = HashSet::new();
    for o in operations(&doc) {
        let name = o.name();
        let id = o.op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no operationId"));
        assert!(ids.insert(id), "{name}: operationId {id} is used twice");
        for field in ["summary", "description"] {
            assert!(
                o.op[field].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{name}: no {field}"
            );
        }
        let tags = o.op["tags"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no tags"));
        assert_eq!(tags.len(), 1, "{name}: tagged with exactly its contract");
        for t in tags {
            let t = t.as_str().expect("tags are strings");
            assert!(declared_tags.contains(t), "{name}: tag {t} is not declared");
        }

        let responses = o.op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no responses"));
        assert!(
            responses.contains_key("200"),
            "{name}: the success response (200) is not documented"
        );
        // The hosted reset page (HTML, its script and style) is the one
        // function that answers something other than JSON, and it reads no
        // input it could refuse.
        let page = o.op["x-rekey-function"].as_str() == Some(Function::ResetPage.name());
        if page {
            let types: Vec<&String> = resolve(&doc, &responses["200"])["content"]
                .as_object()
                .map(|c| c.keys().collect())
                .unwrap_or_default();
            assert!(
                types.len() == 1
                    && ["text/html", "text/javascript", "text/css"].contains(&types[0].as_str()),
                "{name}: the page documents one text/html, text/javascript or text/css 200, found {types:?}"
            );
            assert_eq!(responses.len(), 1, "{name}: the page answers only 200");
            continue;
        }
        // Discovery reads no input either (no body, no parameters).
        let reads_input = o.op["x-rekey-function"].as_str() != Some(Function::Discovery.name());
        assert!(
            !reads_input || responses.contains_key("400"),
            "{name}: 400 (bad input) is not documented"
        );
        for (status, response) in responses {
            let code: u16 = status
                .parse()
                .unwrap_or_else(|_| panic!("{name}: response {status:?} is not a status code"));
            assert!(
                (200..600).contains(&code),
                "{name}: response {status} is not a status code"
            );
            assert!(
                code < 500 || code == 503,
                "{name}: documents {status}; only 503 (store unavailable) is a \
                 documented server error"
            );
            let response = resolve(&doc, response);
            assert!(
                response["description"].as_str().is_some(),
                "{name} {status}: no description"
            );
            // RFC 7009 2.2: a revocation answers 200 with no body.
            if o.op["x-rekey-function"].as_str() == Some(Function::OAuthRevoke.name())
                && status == "200"
            {
                assert!(
                    response.get("content").is_none(),
                    "{name} 200: the body is empty"
                );
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{name} {status}: no application/json schema (every answer is JSON)"
            );
        }

        let userinfo = o.op["x-rekey-function"].as_str() == Some(Function::OAuthUserinfo.name());
        if userinfo && o.method == "post" {
            // RFC 6750 2.2: the token may come as a form field; the header
            // alone is a whole request, so the body is optional.
            let body = resolve(&doc, &o.op["requestBody"]);
            assert_eq!(body["required"], Value::Bool(false), "{name}");
            let content = body["content"].as_object().expect("content");
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                ["application/x-www-form-urlencoded"],
                "{name}: the body is a form (RFC 6750 2.2)"
            );
        } else if o.method == "post" {
            // The transport rules: every POST body is JSON of a shape, at most 16 KiB.
            let body = resolve(&doc, &o.op["requestBody"]);
            assert_eq!(
                body["required"],
                Value::Bool(true),
                "{name}: requestBody is required"
            );
            let content = body["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{name}: requestBody has no content"));
            // RFC 6749 3.2 and RFC 7009 2.1: the OAuth endpoints take form
            // bodies, and answer another media type with 400.
            let oauth = [Function::OAuthToken.name(), Function::OAuthRevoke.name()]
                .map(Some)
                .contains(&o.op["x-rekey-function"].as_str());
            let media = if oauth {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                [media],
                "{name}: the body is {media} only"
            );
            let schema = resolve(&doc, &content[media]["schema"]);
            assert_eq!(
                schema["type"], "object",
                "{name}: the body schema is an object"
            );
            let transport: &[&str] = if oauth { &["413"] } else { &["413", "415"] };
            for status in transport {
                assert!(
                    responses.contains_key(*status),
                    "{name}: {status} is not documented (the transport rules)"
                );
            }
        } else {
            assert!(o.op.get("requestBody").is_none(), "{name}: takes no body");
        }
    }
}

#[test]
fn path_parameters_match_the_path_templates() {
    let doc = doc();
    for o in operations(&doc) {
        let name = o.name();
        let declared: Vec<&Value> = o
            .path_params
            .iter()
            .chain(
                o.op["parameters"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            )
            .map(|p| resolve(&doc, p))
            .collect();
        let in_path: BTreeSet<&str> = declared
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"],
                    Value::Bool(true),
                    "{name}: path parameters are required"
                );
                p["name"].as_str().expect("parameters have names")
            })
            .collect();
        assert_eq!(
            in_path,
            template_params(o.path),
            "{name}: path parameters declared vs in the path"
        );
        for p in &declared {
            assert!(p["schema"].is_object(), "{name}: parameter without schema");
        }
    }
}

#[test]
fn security_follows_each_contract() {
    let doc = doc();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["requestToken"]["type"], "apiKey");
    assert_eq!(schemes["requestToken"]["in"], "header");
    assert_eq!(schemes["requestToken"]["name"], "requestToken");
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");

    let by_route: BTreeMap<(String, String), Function> = ROUTES
        .iter()
        .map(|r| ((r.method.to_lowercase(), r.path.to_string()), r.function))
        .collect();
    for o in operations(&doc) {
        let name = o.name();
        let Some(function) = by_route.get(&(o.method.clone(), o.path.to_string())) else {
            continue; // reported by every_route_is_an_operation_and_every_operation_a_route
        };
        let (expected, takes_key): (&[&str], bool) = match function {
            Function::RequestReset => (&["requestToken"], true),
            Function::RequestUserReset | Function::SetPassword => (&["bearer"], true),
            // An access token, not an API key.
            Function::OAuthUserinfo => (&["accessToken"], true),
            // The token, signature or nothing is the credential.
            _ => (&[], false),
        };
        let security = o.op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: states its security (`security: []` for none)"));
        let used: Vec<&str> = security
            .iter()
            .flat_map(|req| req.as_object().into_iter().flat_map(|m| m.keys()))
            .map(String::as_str)
            .collect();
        assert_eq!(used, expected, "{name}: security schemes");
        for s in &used {
            assert!(
                schemes[*s].is_object(),
                "{name}: scheme {s} is not declared"
            );
        }
        if takes_key {
            assert!(
                o.op["responses"].get("401").is_some(),
                "{name}: takes a key but does not document 401"
            );
        }
    }
}

#[test]
fn every_reference_resolves() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references are used: {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}
