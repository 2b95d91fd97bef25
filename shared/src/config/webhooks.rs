//! Webhook endpoints (`REKEY_WEBHOOKS`) everywhere a change is queued;
//! their secrets, retry schedule and queues where webhooks are sent.

use super::EnvReader;
use crate::webhook::endpoint::Endpoints;

/// The endpoints, with their secrets when `sending` (send-email and
/// rekeyctl); every problem recorded, none quoting a secret.
pub fn read_endpoints(env: &mut EnvReader<'_>, sending: bool) -> Endpoints {
    let endpoints = env.optional("REKEY_WEBHOOKS");
    let secrets = sending.then(|| {
        env.optional("REKEY_WEBHOOK_SECRETS")
            .unwrap_or_else(|| "{}".into())
    });
    let delays = env.optional("REKEY_WEBHOOK_RETRY_DELAYS");
    Endpoints::parse(endpoints.as_deref(), secrets.as_deref(), delays.as_deref()).unwrap_or_else(
        |problems| {
            env.problems.extend(problems);
            Endpoints::default()
        },
    )
}

/// The SQS queues of webhook retries in AWS (template.yaml sets both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryQueues {
    pub retry_queue_url: String,
    pub dead_letter_url: String,
}

/// What send-email needs to send webhooks: the endpoints with their
/// secrets and, when there are any, the retry queues.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    pub endpoints: Endpoints,
    /// None without endpoints (then nothing is sent or retried).
    pub queues: Option<RetryQueues>,
}

impl WebhookDelivery {
    pub(super) fn read(env: &mut EnvReader<'_>) -> Self {
        let endpoints = read_endpoints(env, true);
        if endpoints.is_empty() {
            return Self {
                endpoints,
                queues: None,
            };
        }
        let what = "the webhook retry queues (template.yaml sets both)";
        let retry = env.required("REKEY_WEBHOOK_RETRY_QUEUE_URL", what);
        let dead = env.required("REKEY_WEBHOOK_DEAD_LETTER_URL", what);
        let queues = retry
            .zip(dead)
            .map(|(retry_queue_url, dead_letter_url)| RetryQueues {
                retry_queue_url,
                dead_letter_url,
            });
        Self { endpoints, queues }
    }
}
