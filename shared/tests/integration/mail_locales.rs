//! Localised mail: every bundled locale renders in its language, the locale
//! is chosen from the account, then Accept-Language, then English, and an
//! operator's template directory overrides and adds templates.

use std::sync::Arc;

use crate::support::*;
use rekey::App;
use rekey::domain::UnixTime;
use rekey::domain::{ClientInfo, Scope, UserId};
use rekey::mail::{MailJob, MailMessage, Templates};
use rekey::routes::Function;
use rekey::store::Store;

/// (locale, a word of the reset subject, of the notice subject, the greeting)
const LOCALES: [(&str, &str, &str, &str); 4] = [
    (
        "en",
        "reset your password",
        "your password was changed",
        "Hello",
    ),
    (
        "de",
        "Passwort zurücksetzen",
        "Ihr Passwort wurde geändert",
        "Hallo",
    ),
    (
        "fr",
        "réinitialisez votre mot de passe",
        "votre mot de passe a été modifié",
        "Bonjour",
    ),
    (
        "es",
        "restablezca su contraseña",
        "su contraseña ha sido cambiada",
        "Hola",
    ),
];

fn reset_job(locale: Option<&str>, accept_language: Option<&str>) -> MailJob {
    MailJob {
        to: "ada@example.com".into(),
        user_id: UserId::parse("u1").unwrap(),
        name: "Ada <b>&amp;".into(),
        locale: locale.map(str::to_string),
        accept_language: accept_language.map(str::to_string),
        message: MailMessage::ResetLink {
            link: "https://a.example/r?token=rkt_abc&x=1".into(),
            code: Some("AB12CD".into()),
            requested_at: UnixTime::from_secs(1_700_000_000),
            expires_at: UnixTime::from_secs(1_700_003_600),
            source_ip: Some("192.0.2.1".into()),
        },
    }
}

fn notice_job(locale: Option<&str>) -> MailJob {
    MailJob {
        message: MailMessage::PasswordChanged {
            sign_out_pending: false,
            changed_at: UnixTime::from_secs(1_700_000_000),
            source_ip: Some("192.0.2.1".into()),
        },
        ..reset_job(locale, None)
    }
}

fn subject_locale(t: &Templates, job: &MailJob) -> &'static str {
    let subject = job.render_with("Acme", t).subject;
    LOCALES
        .iter()
        .find(|(_, s, _, _)| subject.contains(s))
        .map(|(l, ..)| *l)
        .unwrap_or_else(|| panic!("subject in no known language: {subject}"))
}

#[test]
fn every_locale_renders_in_its_language_filled_and_escaped() {
    let t = Templates::bundled();
    assert_eq!(t.locales(), vec!["de", "en", "es", "fr"]);
    for (locale, reset_subject, notice_subject, greeting) in LOCALES {
        let mail = reset_job(Some(locale), None).render_with("Acme", &t);
        assert_eq!(
            mail.subject,
            format!(
                "Acme{}{reset_subject}",
                if locale == "fr" { " : " } else { ": " }
            )
        );
        assert!(
            mail.text.starts_with(greeting)
                && mail.text.lines().next().unwrap().contains(" Ada <b>&amp;"),
            "{locale}: {}",
            mail.text
        );
        assert!(
            mail.text.contains("https://a.example/r?token=rkt_abc&x=1"),
            "{locale}"
        );
        assert!(
            mail.text.contains("AB12CD") && mail.text.contains("60"),
            "{locale}"
        );
        assert!(
            mail.text.contains("2023-11-14 22:13 UTC") && mail.text.contains("192.0.2.1"),
            "{locale}"
        );
        assert!(
            mail.html.contains(&format!("<html lang=\"{locale}\">")),
            "{locale}"
        );
        assert!(
            mail.html.contains(&format!("<p>{greeting}"))
                && mail.html.contains(" Ada &lt;b&gt;&amp;amp;"),
            "{locale}: html escapes the name"
        );
        assert!(
            mail.html.contains("token=rkt_abc&amp;x=1"),
            "{locale}: html escapes the link"
        );
        assert!(!mail.html.contains("<b>"), "{locale}");

        let notice = notice_job(Some(locale)).render_with("Acme", &t);
        assert!(
            notice.subject.contains(notice_subject),
            "{locale}: {}",
            notice.subject
        );
        assert!(notice.text.starts_with(greeting), "{locale}");
        assert!(notice.text.contains("2023-11-14 22:13 UTC") && notice.text.contains("192.0.2.1"));
        assert!(notice.html.contains(&format!("<html lang=\"{locale}\">")));
        for rendered in [&mail, &notice] {
            for part in [&rendered.subject, &rendered.text, &rendered.html] {
                assert!(
                    !part.contains("{{") && !part.contains("}}"),
                    "{locale}: {part}"
                );
            }
        }
    }
}

#[test]
fn the_stored_locale_then_accept_language_then_english() {
    let t = Templates::bundled();
    let pick = |stored, header| subject_locale(&t, &reset_job(stored, header));
    assert_eq!(pick(None, Some("de-CH,de;q=0.9,en;q=0.8")), "de");
    assert_eq!(pick(None, Some("ja, fr;q=0.5, es;q=0.7")), "es");
    assert_eq!(pick(None, Some("FR-ca")), "fr");
    assert_eq!(pick(None, Some("es;q=0, de;q=0.1")), "de");
    assert_eq!(
        pick(Some("fr"), Some("de-CH,de;q=0.9")),
        "fr",
        "the account's locale wins"
    );
    assert_eq!(pick(Some("es-MX"), None), "es");
    assert_eq!(
        pick(Some("it"), Some("de")),
        "de",
        "an unavailable stored locale falls through"
    );
    assert_eq!(pick(None, Some("ja, zh;q=0.9, *;q=0.1")), "en");
    assert_eq!(pick(None, Some(";;;,,q=x")), "en");
    assert_eq!(pick(Some("xx"), None), "en");
    assert_eq!(pick(None, None), "en");
}

#[test]
fn a_template_directory_overrides_and_adds_locales() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    let it = dir.path().join("it");
    std::fs::create_dir_all(&en).unwrap();
    std::fs::create_dir_all(&it).unwrap();
    std::fs::write(en.join("reset_link.subject"), "{{product}} password help\n").unwrap();
    for (name, contents) in [
        ("reset_link.subject", "{{product}}: reimposta la password"),
        (
            "reset_link.txt",
            "Ciao {{name}},\n{{link}}\n{{code_line}}\nScade tra {{expires_minutes}} minuti ({{requested_at}}{{origin}}).\n",
        ),
        (
            "reset_link.html",
            "<html lang=\"it\"><p>Ciao {{name}}, <a href=\"{{link}}\">{{link}}</a> {{code_line}}</p></html>",
        ),
        ("reset_link.code", "Il tuo codice: {{code}}"),
        ("origin", " da {{source_ip}}"),
        ("password_changed.subject", "{{product}}: password cambiata"),
        (
            "password_changed.txt",
            "Ciao {{name}}, password cambiata il {{changed_at}}{{origin}}.\n",
        ),
        (
            "password_changed.html",
            "<p>Ciao {{name}}, {{changed_at}}{{origin}}</p>",
        ),
    ] {
        std::fs::write(it.join(name), contents).unwrap();
    }
    let t = Templates::bundled().with_dir(dir.path()).unwrap();
    assert_eq!(t.locales(), vec!["de", "en", "es", "fr", "it"]);

    let en_mail = reset_job(None, None).render_with("Acme", &t);
    assert_eq!(en_mail.subject, "Acme password help", "overridden");
    assert!(
        en_mail.text.starts_with("Hello Ada"),
        "the rest stays bundled"
    );

    let it_mail = reset_job(None, Some("it-IT,it;q=0.9,en;q=0.5")).render_with("Acme", &t);
    assert_eq!(it_mail.subject, "Acme: reimposta la password");
    assert!(it_mail.text.contains("Il tuo codice: AB12CD"));
    assert!(
        it_mail
            .text
            .contains("Scade tra 60 minuti (2023-11-14 22:13 UTC da 192.0.2.1)")
    );
    assert!(it_mail.html.contains("Ciao Ada &lt;b&gt;&amp;amp;"));
    assert!(it_mail.html.contains("token=rkt_abc&amp;x=1"));
    let it_notice = notice_job(Some("it")).render_with("Acme", &t);
    assert_eq!(it_notice.subject, "Acme: password cambiata");
    for part in [
        &it_mail.text,
        &it_mail.html,
        &it_notice.text,
        &it_notice.html,
    ] {
        assert!(!part.contains("{{"), "{part}");
    }

    // A misnamed file is refused with its path, not silently ignored.
    std::fs::write(it.join("reset.txt"), "x").unwrap();
    let err = Templates::bundled()
        .with_dir(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reset.txt") && err.contains("reset_link.txt"),
        "{err}"
    );
    let err = Templates::bundled()
        .with_dir(&dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing"), "{err}");
}

/// A value that looks like a placeholder is not expanded again.
#[test]
fn values_are_filled_once() {
    let t = Templates::bundled();
    let mut job = reset_job(Some("de"), None);
    job.name = "{{link}}".into();
    let mail = job.render_with("Acme", &t);
    assert!(mail.text.starts_with("Hallo {{link}},"), "{}", mail.text);
}

/// Through a handler: the request's Accept-Language reaches the mail, and
/// an account's stored locale wins over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_language_reaches_the_queued_mail() {
    let config = config();
    let e = embedded_store();
    let store: Arc<dyn Store> = Arc::new(e.store.clone());
    let app = App::new(&config, store.clone());
    let key = add_key(&*store, &[Scope::ResetRequest]).await;
    let plain = add_user(&*store, &config, &unique_email()).await;
    let mut french = rekey::domain::User::new(
        UserId::generate(),
        rekey::domain::EmailAddress::parse(&unique_email()).unwrap(),
        now(),
    );
    french.locale = Some("fr".into());
    store.insert_user(&french).await.unwrap();
    let t = Templates::bundled();
    for (user, expected) in [(&plain, "de"), (&french, "fr")] {
        let body = serde_json::json!({ "email": user.email.as_str() }).to_string();
        let resp = Function::RequestReset
            .handle(
                &app,
                apigw_request(
                    "POST",
                    "/api/User/authreset",
                    &[],
                    &[
                        ("content-type", "application/json"),
                        ("requestToken", &key),
                        ("accept-language", "de-CH,de;q=0.9,en;q=0.8"),
                    ],
                    Some(&body),
                ),
            )
            .await;
        assert_eq!(resp.status(), 200);
        app.reset.drain_intake(10).await.unwrap();
        let item = store.pending_mail(10).await.unwrap().pop().unwrap();
        let job = MailJob::open(&config.keys, &item).unwrap();
        assert_eq!(subject_locale(&t, &job), expected);
        store.mail_delivered(&item.id).await.unwrap();
    }
    let info = rekey::http::client_info(
        &apigw_request("GET", "/x", &[], &[("accept-language", "es")], None),
        None,
    );
    assert_eq!(
        info,
        ClientInfo {
            accept_language: Some("es".into()),
            ..info.clone()
        }
    );
}
