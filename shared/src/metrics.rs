//! CloudWatch metrics in embedded metric format (EMF): one JSON line on
//! stdout per event, which Lambda ships to CloudWatch Logs and CloudWatch
//! turns into metrics, with no API call and no latency. Outside Lambda the
//! same events go to the debug log instead, so the local console stays
//! readable.

use std::io::Write;

/// The CloudWatch namespace of every rekey metric.
pub const NAMESPACE: &str = "rekey";

/// What is counted. Names are the CloudWatch metric names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A well-formed reset request (link, code, signed link, recovery),
    /// whether or not the account exists.
    ResetsRequested,
    /// A password changed through any contract.
    ResetsCompleted,
    MailsSent,
    /// A delivery attempt that failed and was left for retry.
    MailsFailed,
    /// A refused request, with the reason as the `Reason` dimension.
    Rejections(&'static str),
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::ResetsRequested => "ResetsRequested",
            Metric::ResetsCompleted => "ResetsCompleted",
            Metric::MailsSent => "MailsSent",
            Metric::MailsFailed => "MailsFailed",
            Metric::Rejections(_) => "Rejections",
        }
    }
}

/// The EMF document for one count of `metric` at `timestamp_ms`.
pub fn emf_line(metric: Metric, timestamp_ms: u128) -> String {
    let dimensions: Vec<Vec<&str>> = match metric {
        Metric::Rejections(_) => vec![vec!["Reason"]],
        _ => vec![vec![]],
    };
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{"Name": metric.name(), "Unit": "Count"}],
            }],
        },
    });
    doc[metric.name()] = serde_json::json!(1);
    if let Metric::Rejections(reason) = metric {
        doc["Reason"] = serde_json::json!(reason);
    }
    doc.to_string()
}

/// Counts one `metric`.
pub fn count(metric: Metric) {
    if crate::config::in_lambda() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let _ = writeln!(std::io::stdout().lock(), "{}", emf_line(metric, now));
    } else {
        tracing::debug!(metric = metric.name(), reason = ?match metric {
            Metric::Rejections(r) => Some(r),
            _ => None,
        }, "metric");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_documents_name_their_metric_and_dimensions() {
        let doc: serde_json::Value =
            serde_json::from_str(&emf_line(Metric::MailsSent, 1_700_000_000_000)).unwrap();
        let spec = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "rekey");
        assert_eq!(spec["Metrics"][0]["Name"], "MailsSent");
        assert_eq!(spec["Dimensions"], serde_json::json!([[]]));
        assert_eq!(doc["MailsSent"], 1);
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);

        let doc: serde_json::Value =
            serde_json::from_str(&emf_line(Metric::Rejections("invalid_token"), 1)).unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Reason"]])
        );
        assert_eq!(doc["Reason"], "invalid_token");
        assert_eq!(doc["Rejections"], 1);
    }
}
