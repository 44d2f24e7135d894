//! What a handler knows about the event it is handling.

use std::sync::Arc;
use std::time::SystemTime;

use eventfn_core::Registration;
use serde::Serialize;

/// The event being handled, passed to handlers that take it as an argument.
#[derive(Debug, Clone)]
pub struct Context {
    pub(crate) id: String,
    pub(crate) time: u64,
    pub(crate) delay: u64,
    pub(crate) attempt: u32,
    pub(crate) deadline: Option<SystemTime>,
    pub(crate) handler: &'static Registration,
    /// A rule's event's envelope; `None` for other handlers.
    pub(crate) event: Option<Arc<crate::bus_event::Envelope>>,
}

impl Context {
    /// The event's (or message's) identifier.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event, queue or schedule name.
    pub fn name(&self) -> &str {
        &self.handler.name
    }

    /// When the event was published, in milliseconds since the Unix epoch.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// How long the publisher asked delivery to wait, in milliseconds (0 when not delayed).
    pub fn delay(&self) -> u64 {
        self.delay
    }

    /// Which attempt at handling this event this is, counting from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// When this attempt must be finished: the handler's timeout, or the Lambda deadline if
    /// sooner. `None` when nothing limits it.
    pub fn deadline(&self) -> Option<SystemTime> {
        self.deadline
    }

    /// A `#[rule]`'s event's `source`, like `aws.s3`; empty for other handlers.
    pub fn source(&self) -> &str {
        self.event.as_ref().map_or("", |e| e.source.as_str())
    }

    /// A `#[rule]`'s event's `detail-type`, like `Object Created`; empty for other handlers.
    pub fn detail_type(&self) -> &str {
        self.event.as_ref().map_or("", |e| e.detail_type.as_str())
    }

    /// The account a `#[rule]`'s event came from; empty for other handlers (and in the
    /// sandbox and the test kit, unless the event said).
    pub fn account(&self) -> &str {
        self.event.as_ref().map_or("", |e| e.account.as_str())
    }

    /// The region a `#[rule]`'s event came from; empty for other handlers.
    pub fn region(&self) -> &str {
        self.event.as_ref().map_or("", |e| e.region.as_str())
    }

    /// The ARNs of what a `#[rule]`'s event is about (an S3 bucket, an EC2 instance); empty for
    /// other handlers.
    pub fn resources(&self) -> &[String] {
        self.event.as_ref().map_or(&[], |e| e.resources.as_slice())
    }

    /// The EventBridge id of a `#[rule]`'s event (the same for every rule it reached); empty for
    /// other handlers. [`Context::id`] is the delivery's.
    pub fn event_id(&self) -> &str {
        self.event.as_ref().map_or("", |e| e.id.as_str())
    }

    /// The Rust path of the handler running, like `welcome::send_welcome`.
    pub fn handler(&self) -> &str {
        &self.handler.function
    }

    /// Publishes an event when awaited, like [`crate::publish`]; `.after(...)` delays it.
    pub fn publish<T: Serialize + ?Sized>(&self, name: &str, payload: &T) -> crate::Publish {
        crate::publish(name, payload)
    }
}
