//! The local sandbox's HTTP API: what `cargo eventfn dev` serves on 127.0.0.1, and what
//! `cargo eventfn publish`, `trigger`, `events` and `replay` and the runtime's publish from another
//! process send to it. Bodies are JSON; an error answers with a 4xx or 5xx status and an
//! [`ApiError`].
//!
//! | request | body | answer |
//! |---|---|---|
//! | `GET /v1/app` | | [`AppInfo`] |
//! | `POST /v1/publish` | [`PublishRequest`] | [`Published`] |
//! | `POST /v1/trigger` | [`TriggerRequest`] | [`Published`] |
//! | `GET /v1/deliveries?filter=all\|failed\|dead&limit=N` | | [`Deliveries`] |
//! | `GET /v1/deliveries/{id}` | | [`DeliveryDetail`] |
//! | `POST /v1/replay` | [`ReplayRequest`] | [`DeliveryView`] |
//! | `POST /v1/replay-all` | `{}` | [`Counted`]: the dead letters made pending again |
//! | `POST /v1/purge` | [`PurgeRequest`] | [`Counted`]: the dead letters removed |
//! | `GET /v1/stream` | | `text/event-stream`: a `delivery` event, a [`DeliveryView`] without its payload, whenever a delivery is stored or attempted or changes state; a `purged` event, a [`Counted`], when dead letters are purged; a `lagged` event, a [`Counted`] of the changes missed, when the reader fell too far behind (it should list again); a comment line every 15 s while nothing happens. It ends with its connection (after a minute): a browser's `EventSource` connects again. |
//!
//! `GET /` is the sandbox's dashboard, a page of its own (and its `/dashboard.js` and
//! `/dashboard.css`) that reads this API.
//!
//! Two ids name what the sandbox stores, and it calls them so everywhere (its log, its errors,
//! `cargo eventfn`): an **event** is one publish (or enqueue, or a schedule's firing), by the id
//! [`Published::events`] returns; a **delivery** is that event's delivery to one of its
//! handlers, with its own attempts and state, by the id `GET /v1/deliveries` lists, the one
//! `GET /v1/deliveries/{id}` and `POST /v1/replay` take.
//!
//! The API is for this machine's processes, not for web pages its user visits: the sandbox
//! answers only requests whose `Host` is its own loopback address and port (`127.0.0.1`,
//! `localhost` or `[::1]`), refuses any `Origin` but its own and any `Sec-Fetch-Site` but
//! `same-origin` and `none`, but for a link that opens the dashboard (so no other site can drive
//! it, even through an `<img>`, and DNS rebinding reads nothing), and takes writes only as `Content-Type: application/json` (which
//! a cross-site form or `fetch` cannot send without the preflight it refuses). A publish carries
//! at most [`MAX_MESSAGES`] messages and [`MAX_PUBLISH_BYTES`]; any other body at most
//! [`MAX_SMALL_BYTES`]: more is `413`, before the body is read when its `Content-Length` says so,
//! else as soon as it grows past the bound. Answers are bounded too: a listing
//! carries at most 10,000 deliveries and their payloads as far as
//! [`MAX_LISTED_PAYLOAD_BYTES`] and [`MAX_LISTED_PAYLOADS_BYTES`] allow, and one delivery in full
//! its last 1,000 attempts and the first 1,000 deliveries of what its handler published.
//!
//! Fields added since the first version of this API are optional (or have a default) when read,
//! so a client reads the answers of an earlier sandbox, and unknown fields are ignored.

use serde::{Deserialize, Serialize};

use crate::Kind;

/// The environment variable that gives a process the address of a running sandbox, like
/// `http://127.0.0.1:4747`: `eventfn::publish` sends there, and so do `cargo eventfn publish`,
/// `trigger`, `events` and `replay`.
pub const SANDBOX_ENV: &str = "EVENTFN_SANDBOX";

/// The port the sandbox listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4747;

/// The address of the sandbox on `port`.
pub fn address(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The most messages one `POST /v1/publish` carries: as many as SNS's `PublishBatch` and SQS's
/// `SendMessageBatch` take. A publisher of more sends them ten at a time.
pub const MAX_MESSAGES: usize = 10;

/// The largest body of a `POST /v1/publish`: [`MAX_MESSAGES`] payloads of the largest size a
/// message takes, each as a JSON string (where every `"` or `\` of the payload takes two bytes),
/// with room for their names and times.
pub const MAX_PUBLISH_BYTES: usize = MAX_MESSAGES * (2 * crate::MAX_PAYLOAD_BYTES + 1024) + 1024;

/// The largest body of any other request: a name or a number, in a little JSON.
pub const MAX_SMALL_BYTES: usize = 16 * 1024;

/// The largest payload that a listing ([`Deliveries`], [`DeliveryDetail::published`]) carries: a
/// larger one is left out of it (its [`DeliveryView::body`] is `None`, its
/// [`DeliveryView::size`] says how large it is), and `GET /v1/deliveries/{id}` has it whole.
pub const MAX_LISTED_PAYLOAD_BYTES: usize = 16 * 1024;

/// The most bytes of payloads that one listing carries, newest first: past it, payloads are left
/// out as those over [`MAX_LISTED_PAYLOAD_BYTES`] are.
pub const MAX_LISTED_PAYLOADS_BYTES: usize = 4 * 1024 * 1024;

/// A running sandbox's app and handlers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The sandbox's store, a SQLite file.
    pub store: String,
    /// Every handler the sandbox runs.
    pub handlers: Vec<HandlerInfo>,
    /// Every dead letter of the store: those of the handlers above, and of handlers the app no
    /// longer has.
    #[serde(default)]
    pub dead: u64,
}

/// One handler of a running sandbox's app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerInfo {
    /// Which attribute declared it.
    pub kind: Kind,
    /// The event or queue it handles, or the schedule's name.
    pub name: String,
    /// The handler's Rust path, like `welcome::send_welcome`.
    pub function: String,
    /// The handler as the app's manifest has it (`eventfn.json`): its trigger, filter or
    /// pattern, options with defaults filled in, payload type and source location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<crate::manifest::Handler>,
    /// When a schedule fires next, in milliseconds since the Unix epoch; `None` when it fires no
    /// more (a one-time schedule that has), or for other handlers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
    /// Its deliveries not yet done: waiting for their time or a retry, or running. For a queue's
    /// handler, the queue's depth.
    #[serde(default)]
    pub pending: u64,
    /// Its dead letters.
    #[serde(default)]
    pub dead: u64,
}

/// Messages to accept, all at once or none: at most [`MAX_MESSAGES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishRequest {
    /// The messages, in order.
    pub messages: Vec<OutgoingMessage>,
}

/// One message: an event published, a job enqueued, or an event put on a bus (kind `rule`,
/// which every rule on that bus whose pattern it matches receives).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// `event`, `queue` or `rule` (an event put on a bus).
    pub kind: Kind,
    /// The event or queue it goes to, or the bus.
    pub name: String,
    /// The payload, as JSON text.
    pub body: String,
    /// When it was published, in milliseconds since the Unix epoch; the sandbox's clock if left
    /// out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// How long to wait before delivering it, in milliseconds.
    #[serde(default)]
    pub delay: u64,
    /// For an event put on a bus (kind `rule`, `name` the bus, `body` the detail): its source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For an event put on a bus: its detail type.
    #[serde(
        default,
        rename = "detail-type",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail_type: Option<String>,
}

/// The stored events' ids, in the order of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// One id per message, as [`DeliveryView::event`] shows it; for a trigger, the firing's.
    pub events: Vec<i64>,
}

/// Fire schedule `name` now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRequest {
    /// The schedule's name: its `name` option, else its function's name.
    pub name: String,
}

/// Deliver dead letter `id` again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayRequest {
    /// The dead delivery, by its [`DeliveryView::id`].
    pub id: i64,
}

/// Remove dead letters for good: one, or every one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeRequest {
    /// The dead delivery, by its [`DeliveryView::id`]; `None`: every dead letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
}

/// How many dead letters a request replayed or purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// How many.
    pub count: u64,
}

/// Recent deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    /// At most `limit` of those `filter` selects.
    pub deliveries: Vec<DeliveryView>,
}

/// A delivery of an event to one handler, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The delivery's id in the sandbox's store: what `cargo eventfn events ID` and `replay`
    /// take.
    pub id: i64,
    /// The id of the stored event it delivers, as [`Published::events`] returned it; every
    /// subscriber's delivery of one publish has the same.
    pub event: i64,
    /// `event`, `queue` or `schedule`.
    pub kind: Kind,
    /// The event, queue or schedule name.
    pub name: String,
    /// The handler's Rust path.
    pub handler: String,
    /// `pending`, `done`, `dead`, or `filtered` (the payload does not match the handler's filter).
    pub state: String,
    /// Attempts made so far; a replay counts them anew from 0.
    pub attempts: u32,
    /// When published, in milliseconds since the Unix epoch.
    pub time: u64,
    /// The delay asked for, in milliseconds.
    pub delay: u64,
    /// When it is (or was last) due, in milliseconds since the Unix epoch.
    pub due: u64,
    /// How long its last attempt took, in whole milliseconds: [`DeliveryView::duration_us`]
    /// rounded down, for the readers of the first version of this API.
    pub duration: Option<u64>,
    /// How long its last attempt took, in microseconds.
    #[serde(default)]
    pub duration_us: Option<u64>,
    /// Why its last attempt failed.
    pub error: Option<String>,
    /// The payload, as JSON text; `None` in a listing that left it out (see
    /// [`MAX_LISTED_PAYLOAD_BYTES`]).
    #[serde(default)]
    pub body: Option<String>,
    /// The payload's size in bytes, as JSON.
    #[serde(default)]
    pub size: u64,
    /// The delivery whose handler published its event, when a handler did.
    #[serde(default)]
    pub published_by: Option<i64>,
    /// A schedule's firing in full: the schedule's time zone, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// One delivery in full: what `GET /v1/deliveries/{id}` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    /// The delivery, with its whole payload.
    pub delivery: DeliveryView,
    /// Its attempts, oldest first (the last 1,000; [`DeliveryDetail::earlier_attempts`] counts
    /// those left out). A replay counts its attempts anew from 1, so after one, attempt 1 comes
    /// again.
    pub attempts: Vec<AttemptView>,
    /// How many earlier attempts are left out.
    #[serde(default)]
    pub earlier_attempts: u64,
    /// The deliveries of the events its handler published, on any of its attempts, oldest
    /// first (the first 1,000), with payloads as a listing carries them.
    pub published: Vec<DeliveryView>,
    /// How many more deliveries of what it published are left out.
    #[serde(default)]
    pub more_published: u64,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    /// Which attempt, from 1, as the handler's `Context::attempt()` saw it.
    pub attempt: u32,
    /// When it started, in milliseconds since the Unix epoch.
    pub started: u64,
    /// How long it took, in microseconds; `None` while it runs, or when the sandbox stopped
    /// during it.
    pub duration_us: Option<u64>,
    /// `running`, `done`, `retry` (it failed, and another attempt followed), `dead` (it failed,
    /// and the delivery is a dead letter) or `stopped` (the sandbox stopped during it: killed, or
    /// taken down by a handler).
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
    /// What the handler wrote through `tracing` during the attempt, as the live log shows it
    /// beneath the attempt's line (its last [`MAX_ATTEMPT_LOG_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// The most bytes of an attempt's `tracing` lines the sandbox keeps: the last ones, from the
/// start of a line.
pub const MAX_ATTEMPT_LOG_BYTES: usize = 16 * 1024;

/// A duration as the sandbox's live log and `cargo eventfn events` show it: `420µs`, `2.5ms`,
/// `42ms`, `1.2s`, `2m05s`.
pub fn duration_us(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..10_000 => format!("{:.1}ms", us as f64 / 1000.0),
        _ => duration_ms(us / 1000),
    }
}

/// A duration in milliseconds as the sandbox shows it: `420ms`, `1s`, `2.5s`, `2m05s`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{:.1}s", ms as f64 / 1000.0).replace(".0s", "s"),
        _ => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What was wrong, as a sentence for the user.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_live_log_shows_them() {
        assert_eq!(duration_us(0), "0µs");
        assert_eq!(duration_us(420), "420µs");
        assert_eq!(duration_us(2_500), "2.5ms");
        assert_eq!(duration_us(42_000), "42ms");
        assert_eq!(duration_us(1_200_000), "1.2s");
        assert_eq!(duration_ms(1_000), "1s");
        assert_eq!(duration_ms(2_500), "2.5s");
        assert_eq!(duration_ms(125_000), "2m05s");
    }

    /// A client of this version reads what a sandbox of the first version answers.
    #[test]
    fn an_earlier_sandbox_answer_is_read() {
        let first = r#"{"id": 14, "event": 9, "kind": "event", "name": "e", "handler": "app::h",
            "state": "done", "attempts": 1, "time": 1000, "delay": 0, "due": 1000,
            "duration": 3, "error": null}"#;
        let view: DeliveryView = serde_json::from_str(first).unwrap();
        assert_eq!(
            (
                view.duration,
                view.duration_us,
                view.body,
                view.size,
                view.published_by
            ),
            (Some(3), None, None, 0, None)
        );
    }
}
