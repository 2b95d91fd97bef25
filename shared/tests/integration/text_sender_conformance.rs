//! The `TextSender` port's conformance suite, run against each adapter:
//! SNS on moto (read back through moto's API) and the outbox folder of
//! `rekeyctl serve` (read back from the files). A text reaches its number
//! whole (code, link, non-ASCII), every text is kept, and numbers never
//! reach an error.

use rekey::domain::PhoneNumber;
use rekey::sms::file::FileTexter;
use rekey::sms::{TextError, TextMessage, TextSender};

use crate::support::*;

/// An adapter and how to read back what it sent to a number.
enum Adapter {
    Sns(rekey::sms::sns::SnsTexter),
    File(FileTexter, tempfile::TempDir),
}

impl Adapter {
    fn sender(&self) -> &dyn TextSender {
        match self {
            Adapter::Sns(s) => s,
            Adapter::File(f, _) => f,
        }
    }

    async fn sent_to(&self, to: &PhoneNumber) -> Vec<String> {
        match self {
            Adapter::Sns(_) => sent_texts(to.as_str()).await,
            Adapter::File(_, dir) => {
                let mut files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.to_string_lossy().ends_with(".sms.txt"))
                    .collect();
                files.sort();
                files
                    .into_iter()
                    .filter_map(|p| {
                        let text = std::fs::read_to_string(p).unwrap();
                        let (head, body) = text.split_once("\n\n").unwrap();
                        (head == format!("To: {}", to.as_str()))
                            .then(|| body.trim_end_matches('\n').to_string())
                    })
                    .collect()
            }
        }
    }
}

async fn adapters() -> Vec<(&'static str, Adapter)> {
    let dir = tempfile::tempdir().unwrap();
    vec![
        ("sns", Adapter::Sns(sns_texter().await)),
        (
            "sns, client made at the first text",
            Adapter::Sns(rekey::sms::sns::SnsTexter::on_first_text(
                aws_config().await,
                Some("Acme".into()),
                None,
            )),
        ),
        (
            "file",
            Adapter::File(FileTexter::new(dir.path().join("outbox")), dir),
        ),
    ]
}

#[tokio::test]
async fn every_text_sender_delivers_each_text_whole_to_its_number() {
    for (name, adapter) in adapters().await {
        let to = unique_phone();
        let other = unique_phone();
        let bodies = [
            "Acme: your password reset code is K7P2QX. It expires in 10 minutes.\nhttps://app.example.com/set?code=K7P2QX",
            "Acme: Ihr Code zum Zurücksetzen lautet 9QW3ZT.",
        ];
        for body in bodies {
            adapter
                .sender()
                .send(&TextMessage {
                    to: to.clone(),
                    body: body.into(),
                })
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // Every text kept, whole (files written in one millisecond have
        // no order between them).
        let mut sent = adapter.sent_to(&to).await;
        sent.sort();
        let mut expected = bodies.map(str::to_string).to_vec();
        expected.sort();
        assert_eq!(sent, expected, "{name}");
        assert!(adapter.sent_to(&other).await.is_empty(), "{name}");
    }
}

/// send-email where texts are off: no SNS client at init, and a text
/// queued before they were turned off is still sent.
#[tokio::test]
async fn sns_made_at_the_first_text_makes_its_client_then_and_sends_it() {
    let sns = rekey::sms::sns::SnsTexter::on_first_text(aws_config().await, None, None);
    assert!(!sns.client_made(), "no client before a text");
    let to = unique_phone();
    let body = "Acme: your password reset code is K7P2QX.";
    sns.send(&TextMessage {
        to: to.clone(),
        body: body.into(),
    })
    .await
    .unwrap();
    assert!(sns.client_made());
    assert_eq!(sent_texts(to.as_str()).await, vec![body.to_string()]);
    assert!(sns_texter().await.client_made(), "made at init");
}

#[tokio::test]
async fn sns_refuses_an_opted_out_number_for_good_without_naming_it() {
    let sns = sns_texter().await;
    let to = opted_out_number();
    let e = sns
        .send(&TextMessage {
            to: to.clone(),
            body: "Acme: your code is K7P2QX".into(),
        })
        .await
        .expect_err("moto reports numbers ending in 99 as opted out");
    assert!(
        matches!(&e, TextError::Rejected(kind) if kind == "OptedOut"),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains(&to.as_str()[1..]));
    // Asked before publishing: nothing was sent, nothing billed.
    assert!(sent_texts(to.as_str()).await.is_empty());
}

#[tokio::test]
async fn sns_unreachable_is_retried_not_dead_lettered() {
    let config = rekey::aws::config_loader()
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let sns = rekey::sms::sns::SnsTexter::new(aws_sdk_sns::Client::new(&config), None, None);
    let to = unique_phone();
    let e = sns
        .send(&TextMessage {
            to: to.clone(),
            body: "x".into(),
        })
        .await
        .expect_err("nothing listens on port 9");
    assert!(matches!(e, TextError::Unavailable(_)), "{e:?}");
    assert!(!format!("{e:?}").contains(&to.as_str()[1..]));
}
