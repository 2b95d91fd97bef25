//! The send-email function's work: intake and outbox items arrive as
//! DynamoDB stream records; each is delivered (an address request through
//! its reset flow, which queues its mail; a mail through SES), and only the
//! failed ones are reported back so Lambda retries them (and, past the
//! retry limit, sends the batch to the dead-letter queue).

pub use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use super::{Delivery, Outbox};
use crate::domain::{IntakeItem, OutboxItem};
use crate::reset::ResetService;
use crate::store::dynamo::records::{IntakeRecord, OutboxRecord, Record};
use crate::store::dynamo::table::{INTAKE_KIND, KIND_ATTRIBUTE, OUTBOX_KIND};

/// Delivers the outbox items of a batch; anything else is skipped.
pub async fn deliver_batch(outbox: &Outbox, event: StreamEvent) -> DynamoDbEventResponse {
    consume(outbox, None, event).await
}

/// Delivers a batch of intake and outbox items: what send-email runs.
pub async fn consume_batch(
    reset: &ResetService,
    outbox: &Outbox,
    event: StreamEvent,
) -> DynamoDbEventResponse {
    consume(outbox, Some(reset), event).await
}

async fn consume(
    outbox: &Outbox,
    reset: Option<&ResetService>,
    event: StreamEvent,
) -> DynamoDbEventResponse {
    let mut failures = Vec::new();
    for record in event.records {
        // The event source mapping filters to intake and outbox inserts;
        // anything else that slips through is not ours to deliver.
        if record.event_name != "INSERT" {
            continue;
        }
        let kind = match record.change.new_image.get(KIND_ATTRIBUTE) {
            Some(serde_dynamo::AttributeValue::S(kind)) => kind.clone(),
            _ => continue,
        };
        let sequence = record.change.sequence_number.clone();
        let image = record.change.new_image;
        let delivered = match (kind.as_str(), reset) {
            (OUTBOX_KIND, _) => deliver_mail(outbox, image).await,
            (INTAKE_KIND, Some(reset)) => deliver_request(reset, image).await,
            _ => continue,
        };
        if !delivered {
            failures.push(sequence);
        }
    }
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|seq| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = seq;
            f
        })
        .collect();
    response
}

/// One outbox image sent; false when it is to be retried.
async fn deliver_mail(outbox: &Outbox, image: serde_dynamo::Item) -> bool {
    let item = match OutboxRecord::from_item(image) {
        Ok(record) => OutboxItem::from(record),
        Err(e) => {
            tracing::error!(error = %crate::error::Chain(&e), "outbox record does not decode");
            return false;
        }
    };
    match outbox.deliver(&item).await {
        Ok(Delivery::Sent) => true,
        Ok(Delivery::AlreadyDelivered) => {
            tracing::info!(outbox_id = %item.id, "already delivered; skipped");
            true
        }
        Ok(Delivery::Deferred) => true,
        Err(e) => {
            tracing::warn!(outbox_id = %item.id, error = %crate::error::Chain(&e), "delivery failed; reported for retry");
            false
        }
    }
}

/// One intake image delivered through its flow; false when it is to be
/// retried.
async fn deliver_request(reset: &ResetService, image: serde_dynamo::Item) -> bool {
    let item = match IntakeRecord::from_item(image) {
        Ok(record) => IntakeItem::from(record),
        Err(e) => {
            tracing::error!(error = %crate::error::Chain(&e), "intake record does not decode");
            return false;
        }
    };
    match reset.deliver_intake(&item).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(intake_id = %item.id, error = %crate::error::Chain(&e), "intake delivery failed; reported for retry");
            false
        }
    }
}
