//! What a handler knows about the event it is handling.

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

    /// The Rust path of the handler running, like `welcome::send_welcome`.
    pub fn handler(&self) -> &str {
        &self.handler.function
    }

    /// Publishes an event when awaited, like [`crate::publish`]; `.after(...)` delays it.
    pub fn publish<T: Serialize + ?Sized>(&self, name: &str, payload: &T) -> crate::Publish {
        crate::publish(name, payload)
    }
}
