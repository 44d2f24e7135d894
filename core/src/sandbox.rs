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

/// Messages to accept, all at once or none.
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
