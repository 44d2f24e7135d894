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
