//! EventBridge events, as a `#[rule]` handler receives them: split into the envelope its
//! [`Context`](crate::Context) reports and the `detail` its payload is read from.
//!
//! Every driver hands a rule's handler the whole event as EventBridge writes it (the body of the
//! SQS message its rule sent on Lambda, the stored event in the sandbox, the event the test kit
//! built), and [`Entry::invoke`](crate::Entry::invoke) splits it here: one place, whatever the
//! driver.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::PayloadError;
use crate::{Context, Error, Result};

/// An EventBridge event's envelope: everything but its `detail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct Envelope {
    #[serde(default)]
    pub(crate) id: String,
    pub(crate) source: String,
    #[serde(rename = "detail-type")]
    pub(crate) detail_type: String,
    #[serde(default)]
    pub(crate) account: String,
    #[serde(default)]
    pub(crate) region: String,
    #[serde(default)]
    pub(crate) time: Option<String>,
    #[serde(default)]
    pub(crate) resources: Vec<String>,
}

/// The whole event, its `detail` left as written. (No `#[serde(flatten)]` of the envelope:
/// serde buffers a flattened struct's fields, which a `RawValue` cannot be read from.)
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default)]
    id: String,
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
}

/// The account the sandbox and the test kit say their events come from: none of AWS's.
#[cfg(any(feature = "sandbox", feature = "testing"))]
pub(crate) const LOCAL_ACCOUNT: &str = "000000000000";

/// The whole EventBridge event that `PutEvents` of `message` (an event put on a bus) makes, as
/// EventBridge writes it to a rule's target: how the sandbox and the test kit deliver it, so
/// that patterns and handlers read the same event offline as on AWS. Its account is
/// [`LOCAL_ACCOUNT`]; its region `AWS_REGION` (or `AWS_DEFAULT_REGION`), else `us-east-1`.
#[cfg(any(feature = "sandbox", feature = "testing"))]
pub(crate) fn event_json(message: &crate::Message) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let (source, detail_type) = message
        .entry
        .as_ref()
        .map_or(("", ""), |e| (e.source.as_str(), e.detail_type.as_str()));
    // Shaped as EventBridge's ids are (a UUID), unique in this process: its time, a count and
    // the process's id.
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    let bits = (u128::from(message.time) << 64)
        | (u128::from(std::process::id()) << 32)
        | u128::from(count as u32);
    let hex = format!("{bits:032x}");
    let id = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    let time = chrono::DateTime::from_timestamp_millis(message.time as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".to_owned());
    let envelope = serde_json::json!({
        "version": "0",
        "id": id,
        "detail-type": detail_type,
        "source": source,
        "account": LOCAL_ACCOUNT,
        "time": time,
        "region": region,
        "resources": [],
    })
    .to_string();
    // The detail as it was written, after the envelope's fields.
    format!(
        "{},\"detail\":{}}}",
        &envelope[..envelope.len() - 1],
        message.body
    )
}

/// An event's `time` (RFC 3339, as EventBridge writes it) in milliseconds since the epoch.
pub(crate) fn millis(time: &str) -> Option<u64> {
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
}

/// The handler's payload type reads the whole event rather than its `detail`: a type named
/// `EventBridgeEvent` (as `aws_lambda_events`' is), with or without its path and generics.
pub(crate) fn takes_whole_event(payload_type: Option<&str>) -> bool {
    payload_type.is_some_and(|t| {
        let name = t.split('<').next().unwrap_or(t).trim();
        name.rsplit("::").next() == Some("EventBridgeEvent")
    })
}

/// Splits `event` into its envelope and its `detail` as JSON text (`null` when it has none);
/// an event that is not one is a payload error naming what is missing, as a payload that does
/// not fit its type is.
pub(crate) fn split(event: &str, ctx: &Context) -> Result<(Envelope, String)> {
    if let Ok(read) = serde_json::from_str::<Event<'_>>(event) {
        let detail = read
            .detail
            .map_or_else(|| "null".to_owned(), |d| d.get().to_owned());
        let envelope = Envelope {
            id: read.id,
            source: read.source,
            detail_type: read.detail_type,
            account: read.account,
            region: read.region,
            time: read.time,
            resources: read.resources,
        };
        return Ok((envelope, detail));
    }
    // Read again, tracking where it fails, only when it does.
    let mut json = serde_json::Deserializer::from_str(event);
    let error = match serde_path_to_error::deserialize::<_, Event<'_>>(&mut json) {
        Err(e) => e,
        // The same text, read the same way, failed a moment ago.
        Ok(_) => {
            return Err(crate::error::message(
                "the EventBridge event cannot be read",
            ));
        }
    };
    let h = ctx.handler;
    Err(Error::from(PayloadError {
        kind: h.kind.as_str(),
        name: h.name.clone(),
        handler: h.function.clone(),
        payload_type: "an EventBridge event".to_owned(),
        path: error.path().to_string(),
        source: error.into_inner(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_types_that_take_the_whole_event() {
        for name in [
            "EventBridgeEvent",
            "aws_lambda_events::eventbridge::EventBridgeEvent",
            "EventBridgeEvent<Budget>",
        ] {
            assert!(takes_whole_event(Some(name)), "{name}");
        }
        for name in ["Budget", "MyEventBridgeEvent", "Vec<EventBridgeEvent>"] {
            assert!(!takes_whole_event(Some(name)), "{name}");
        }
        assert!(!takes_whole_event(None));
    }
}
