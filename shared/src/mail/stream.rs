//! The send-email function's work: outbox items arrive as DynamoDB stream
//! records; each is delivered, and only the failed ones are reported back
//! so Lambda retries them (and, past the retry limit, sends the batch to
//! the dead-letter queue).

pub use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use super::{Delivery, Outbox};
use crate::domain::OutboxItem;
use crate::store::dynamo::records::{OutboxRecord, Record};
use crate::store::dynamo::table::{KIND_ATTRIBUTE, OUTBOX_KIND};

pub async fn deliver_batch(outbox: &Outbox, event: StreamEvent) -> DynamoDbEventResponse {
    let mut failures = Vec::new();
    for record in event.records {
        // The event source mapping filters to outbox inserts; anything else
        // that slips through is not ours to deliver.
        if record.event_name != "INSERT" {
            continue;
        }
        let outbox_kind = serde_dynamo::AttributeValue::S(OUTBOX_KIND.to_string());
        if record.change.new_image.get(KIND_ATTRIBUTE) != Some(&outbox_kind) {
            continue;
        }
        let sequence = record.change.sequence_number.clone();
        let item = match OutboxRecord::from_item(record.change.new_image) {
            Ok(record) => OutboxItem::from(record),
            Err(e) => {
                tracing::error!(sequence = ?sequence, error = %e, "outbox record does not decode");
                failures.push(sequence);
                continue;
            }
        };
        match outbox.deliver(&item).await {
            Ok(Delivery::Sent) => {}
            Ok(Delivery::AlreadyDelivered) => {
                tracing::info!(outbox_id = %item.id, "already delivered; skipped")
            }
            Err(e) => {
                tracing::warn!(outbox_id = %item.id, error = %e, "delivery failed; reported for retry");
                failures.push(sequence);
            }
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
