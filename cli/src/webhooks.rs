//! Webhooks in rekeyctl: the sender `serve`'s worker uses (retries with
//! backoff in process, a dead-letter file after the last) and
//! `rekeyctl webhook test`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use clap::Subcommand;
use rekey::clock::{Clock, SystemClock};
use rekey::config::EnvReader;
use rekey::crypto::ServiceKeys;
use rekey::domain::OutboxItem;
use rekey::webhook::WebhookError;
use rekey::webhook::sender::{Attempt, RetryQueue, WebhookClient, WebhookSender};
use rekey::webhook::{Endpoint, Endpoints, EventType, WebhookEvent, WebhookJob, WebhookSecret};
use tokio::sync::mpsc;

use crate::Global;
use crate::failure::Failure;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Send a signed `webhook.test` event and report each endpoint's answer.
    #[command(
        after_help = "Examples:\n  rekeyctl webhook test                      # every endpoint in REKEY_WEBHOOKS\n  rekeyctl webhook test --endpoint app       # one, by name\n  rekeyctl webhook test --endpoint http://127.0.0.1:8090/hook --secret whsec_..."
    )]
    Test {
        /// An endpoint's name in REKEY_WEBHOOKS, or a URL.
        #[arg(long)]
        endpoint: Option<String>,
        /// The secret for a URL that REKEY_WEBHOOKS does not name.
        #[arg(long, env = "REKEY_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Print a new random secret (whsec_...) for an endpoint.
    Secret,
}

/// The configured endpoints, with their secrets.
pub fn endpoints() -> Result<Endpoints, Failure> {
    let mut env = EnvReader::process();
    let endpoints = rekey::config::read_endpoints(&mut env, true);
    env.finish().map_err(Failure::of)?;
    Ok(endpoints)
}

pub fn dead_letter_path(data_dir: &Path) -> PathBuf {
    data_dir.join("webhooks-dead-letter.jsonl")
}

/// `serve`'s sender, or None with no endpoint configured.
pub fn local_sender(g: &Global, keys: &ServiceKeys) -> Result<Option<Arc<WebhookSender>>, Failure> {
    let endpoints = endpoints()?;
    if endpoints.is_empty() {
        return Ok(None);
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let sender = Arc::new(WebhookSender {
        endpoints,
        keys: keys.clone(),
        client: WebhookClient::default(),
        retries: Arc::new(LocalRetries {
            due: tx,
            dead_letter: dead_letter_path(&g.data_dir),
        }),
    });
    tokio::spawn(retry_worker(rx, sender.clone()));
    Ok(Some(sender))
}

struct Retry {
    item: OutboxItem,
    attempt: u32,
    delay: Duration,
}

/// Retries in process: lost when serve stops (the outbox item is done by
/// then), which a local server may afford; in AWS they wait in SQS.
struct LocalRetries {
    due: mpsc::UnboundedSender<Retry>,
    dead_letter: PathBuf,
}

#[async_trait]
impl RetryQueue for LocalRetries {
    async fn schedule(
        &self,
        item: &OutboxItem,
        attempt: u32,
        delay: Duration,
    ) -> Result<(), WebhookError> {
        self.due
            .send(Retry {
                item: item.clone(),
                attempt,
                delay,
            })
            .map_err(|_| {
                WebhookError::RetryQueue(Box::new(rekey::error::Invariant(
                    "the retry worker has stopped",
                )))
            })
    }

    /// One JSON line: the sealed item (replayable, nothing in clear) and why.
    async fn dead_letter(&self, item: &OutboxItem, reason: &str) -> Result<(), WebhookError> {
        let line = serde_json::json!({
            "outbox_id": item.id,
            "sealed": item.sealed,
            "created_at": item.created_at,
            "dead_lettered_at": SystemClock.now(),
            "reason": reason,
        });
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.dead_letter)
            .and_then(|mut f| writeln!(f, "{line}"));
        match written {
            Ok(()) => {
                tracing::error!(outbox_id = %item.id, reason, file = %self.dead_letter.display(), "webhook dead-lettered");
                Ok(())
            }
            Err(e) => Err(WebhookError::RetryQueue(Box::new(rekey::error::context(
                format!("cannot write {}", self.dead_letter.display()),
                e,
            )))),
        }
    }
}

async fn retry_worker(mut due: mpsc::UnboundedReceiver<Retry>, sender: Arc<WebhookSender>) {
    while let Some(retry) = due.recv().await {
        let sender = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(retry.delay).await;
            if let Err(e) = sender.send(&retry.item, retry.attempt).await {
                tracing::error!(outbox_id = %retry.item.id, error = %e, "webhook retry could not be scheduled");
            }
        });
    }
}

pub async fn run(_g: &Global, cmd: WebhookCommand) -> Result<(), Failure> {
    match cmd {
        WebhookCommand::Secret => {
            println!("{}", WebhookSecret::generate());
            Ok(())
        }
        WebhookCommand::Test { endpoint, secret } => test(endpoint, secret).await,
    }
}

async fn test(target: Option<String>, secret: Option<String>) -> Result<(), Failure> {
    let configured = endpoints()?;
    let chosen: Vec<Endpoint> = match target {
        None if configured.is_empty() => {
            return Err("no endpoint: set REKEY_WEBHOOKS (and REKEY_WEBHOOK_SECRETS), or pass --endpoint URL --secret whsec_...".into());
        }
        None => configured.endpoints.clone(),
        Some(name) if configured.named(&name).is_some() => {
            configured.named(&name).cloned().into_iter().collect()
        }
        Some(raw) => {
            let url = rekey::webhook::endpoint::check_url(&raw).map_err(|e| {
                format!(
                    "--endpoint {raw:?} is neither a name in REKEY_WEBHOOKS nor a usable URL: {e}"
                )
            })?;
            let known = configured.endpoints.iter().find(|e| e.url == url);
            let secret = match (secret, known) {
                (Some(raw), _) => {
                    WebhookSecret::parse(&raw).map_err(|e| format!("--secret: {e}"))?
                }
                (
                    None,
                    Some(Endpoint {
                        secret: Some(secret),
                        ..
                    }),
                ) => secret.clone(),
                (None, _) => {
                    return Err("a URL that REKEY_WEBHOOKS does not name needs --secret whsec_... (or REKEY_WEBHOOK_SECRET)".into());
                }
            };
            vec![Endpoint {
                name: known
                    .map(|e| e.name.clone())
                    .unwrap_or_else(|| "cli".into()),
                url,
                events: vec![EventType::Test],
                include_password_hash: false,
                secret: Some(secret),
            }]
        }
    };
    let client = WebhookClient::default();
    let event = WebhookEvent::test(SystemClock.now());
    let mut failed = 0;
    for endpoint in &chosen {
        let job = WebhookJob {
            endpoint: endpoint.name.clone(),
            message_id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
            event_type: EventType::Test.as_str().into(),
            body: event.body_for(false),
        };
        match client.attempt(endpoint, &job).await {
            Attempt::Delivered(status) => {
                println!(
                    "{}\t{}\tdelivered ({status})\t{}",
                    endpoint.name, endpoint.url, job.message_id
                )
            }
            Attempt::Failed(reason) => {
                failed += 1;
                println!(
                    "{}\t{}\tfailed: {reason}\t{}",
                    endpoint.name, endpoint.url, job.message_id
                )
            }
        }
    }
    if failed > 0 {
        return Err(format!(
            "{failed} of {} endpoint(s) did not accept the test event",
            chosen.len()
        )
        .into());
    }
    Ok(())
}
