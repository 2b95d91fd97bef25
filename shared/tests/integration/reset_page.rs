//! The hosted reset page as the route table and a function see it: every
//! link kind's default path lands on it, it never consumes what the link
//! carries, and its continue link is exactly the configured one.

use crate::support::*;
use rekey::App;
use rekey::contract::page::{self, SECURITY_HEADERS};
use rekey::routes::{self, Function};
use serde_json::json;

const JSON: (&str, &str) = ("content-type", "application/json");

async fn open(app: &App, path: &str, query: &[(&str, &str)]) -> (u16, String) {
    let resp = Function::ResetPage
        .handle(app, apigw_request("GET", path, query, &[], None))
        .await;
    let h = resp.headers();
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(h[name], value, "GET {path}: {name}");
    }
    let body = String::from_utf8(resp.body().as_ref().to_vec()).unwrap();
    (resp.status().as_u16(), body)
}

fn path_of(link: &str) -> String {
    url::Url::parse(link).unwrap().path().to_string()
}

async fn reset_account(app: &App, code: &str, password: &str) -> (u16, serde_json::Value) {
    let resp = post_to(
        app,
        Function::ResetAccount,
        &[JSON],
        &json!({"validation_code": code, "password": password}),
    )
    .await;
    (resp.status().as_u16(), response_json(&resp))
}

#[test]
fn the_page_paths_route_to_the_page_and_only_for_get() {
    for path in [
        page::PAGE_PATH,
        page::RECOVERY_PATH,
        page::SCRIPT_PATH,
        page::STYLE_PATH,
    ] {
        assert_eq!(
            routes::find("GET", path).map(|(f, _)| f),
            Some(Function::ResetPage),
            "{path}"
        );
        assert!(routes::find("POST", path).is_none(), "POST {path}");
    }
    assert_eq!(page::RECOVERY_PATH, "/account/reset");
}

/// The recovery mail's default link (`REKEY_RECOVER_URL` unset) has the
/// path the page serves; opening it leaves the code usable, once.
#[tokio::test]
async fn the_default_recovery_link_opens_the_page_and_the_code_resets_once() {
    let config = config_with(&[("REKEY_CONTINUE_URL", "https://app.example.com/welcome")]);
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    add_user(&**app.store(), &config, &email).await;
    let resp = post_to(
        &app,
        Function::RecoverAccount,
        &[JSON],
        &json!({"email": email}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let link = app.take_link().await;
    let path = path_of(&link);
    assert_eq!(path, page::RECOVERY_PATH);
    assert_eq!(routes::find("GET", &path).unwrap().0, Function::ResetPage);
    let code = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "validation_code")
        .unwrap()
        .1
        .into_owned();

    for _ in 0..2 {
        let (status, html) = open(&app, &path, &[("validation_code", &code)]).await;
        assert_eq!(status, 200);
        assert!(html.contains("src=\"../reset/app.js\""));
        assert!(html.contains("<a id=\"continue\" href=\"https://app.example.com/welcome\""));
        assert!(!html.contains(&code));
    }
    let (status, body) = reset_account(&app, &code, NEW_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = reset_account(&app, &code, "Another-Horse-43-Battery").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

/// The page's script lists the failed rules from the recovery contract's
/// `error_description`; this is the shape it parses.
#[tokio::test]
async fn a_weak_recovery_password_names_each_rule_as_the_page_reads_them() {
    let config = config();
    let app = TestApp::embedded(config.clone()).await;
    let email = unique_email();
    add_user(&**app.store(), &config, &email).await;
    post_to(
        &app,
        Function::RecoverAccount,
        &[JSON],
        &json!({"email": email}),
    )
    .await;
    let link = app.take_link().await;
    let code = link.split_once("validation_code=").unwrap().1.to_string();
    let (status, body) = reset_account(&app, &code, "password").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let description = body["error_description"].as_str().unwrap();
    let rules = description
        .strip_prefix("the password does not meet the policy: ")
        .unwrap_or_else(|| panic!("{description}"));
    let names: Vec<&str> = rules
        .split("; ")
        .map(|part| {
            let (name, rest) = part.split_once(" (").unwrap_or_else(|| panic!("{part}"));
            assert!(rest.ends_with(')'), "{part}");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
            name
        })
        .collect();
    assert!(
        names.contains(&"character_classes") && names.contains(&"common"),
        "{names:?}"
    );
    // The page's script knows each of these names.
    for name in names {
        assert!(page::SCRIPT.contains(&format!("rule_{name}:")), "{name}");
    }
}

#[test]
fn a_continue_url_is_https_or_loopback_and_on_a_set_origin_list() {
    let problems = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = [
            (
                "REKEY_SECRET",
                rekey::crypto::ServiceSecret::generate().1.as_str(),
            ),
            (
                "REKEY_RESET_URL",
                "https://app.example.com/reset?token={token}",
            ),
        ]
        .iter()
        .chain(vars)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut env = rekey::config::EnvReader::new(move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        });
        let config = rekey::Config::read(&mut env);
        (config.and_then(|c| c.links.continue_url), env.problems)
    };
    let (url, found) = problems(&[("REKEY_CONTINUE_URL", "https://app.example.com/")]);
    assert_eq!(url.unwrap().as_str(), "https://app.example.com/");
    assert!(found.is_empty(), "{found:?}");
    let (url, found) = problems(&[]);
    assert!(url.is_none() && found.is_empty());
    for bad in [
        vec![("REKEY_CONTINUE_URL", "http://app.example.com/")],
        vec![("REKEY_CONTINUE_URL", "javascript:alert(1)")],
        vec![
            ("REKEY_CONTINUE_URL", "https://elsewhere.example/"),
            ("REKEY_ALLOWED_LINK_ORIGINS", "https://app.example.com"),
        ],
    ] {
        let (_, found) = problems(&bad);
        assert_eq!(found.len(), 1, "{bad:?}: {found:?}");
        assert!(
            found[0].starts_with("REKEY_CONTINUE_URL is not valid"),
            "{found:?}"
        );
    }
}
