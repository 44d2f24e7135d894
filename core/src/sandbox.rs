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
//! | `POST /v1/replay` | [`ReplayRequest`] | [`DeliveryView`] |
//!
//! The API is for this machine's processes, not for web pages its user visits: the sandbox
//! answers only requests whose `Host` is its own loopback address and port (`127.0.0.1`,
//! `localhost` or `[::1]`), refuses any `Origin` but its own (so no other site can drive it, and
//! DNS rebinding reads nothing), and takes writes only as `Content-Type: application/json` (which
//! a cross-site form or `fetch` cannot send without the preflight it refuses). A publish carries
//! at most [`MAX_MESSAGES`] messages and [`MAX_PUBLISH_BYTES`]; any other body at most
//! [`MAX_SMALL_BYTES`]: more is `413` before it is read.

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

/// A running sandbox's app and handlers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The sandbox's store, a SQLite file.
    pub store: String,
    /// Every handler the sandbox runs.
    pub handlers: Vec<HandlerInfo>,
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
}

/// Messages to accept, all at once or none: at most [`MAX_MESSAGES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishRequest {
    /// The messages, in order.
    pub messages: Vec<OutgoingMessage>,
}

/// One message: an event published or a job enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// `event` or `queue`.
    pub kind: Kind,
    /// The event or queue it goes to.
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

/// Recent deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    /// At most `limit` of those `filter` selects.
    pub deliveries: Vec<DeliveryView>,
}

/// A delivery of an event to one handler, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The delivery's id in the sandbox's store: what `cargo eventfn replay` takes.
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
    /// How long its last attempt took, in milliseconds.
    pub duration: Option<u64>,
    /// Why its last attempt failed.
    pub error: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What was wrong, as a sentence for the user.
    pub error: String,
}
