//! Delayed delivery on AWS: what the template provides and the runtime uses.
//!
//! A publish with `after` waits where AWS can hold it, by how long is left until it is due:
//!
//! | wait | where it waits |
//! |---|---|
//! | none left | nowhere: sent to its topic or queue at once |
//! | up to 15 minutes, job of a standard queue | that queue, as the message's `DelaySeconds` |
//! | up to 15 minutes, event or FIFO job | the stack's delay queue, as `DelaySeconds` |
//! | longer | an EventBridge Scheduler one-time schedule (`at(...)`, deleted after it ran) in the stack's schedule group, which sends to the delay queue when due |
//!
//! The delay queue's function (the app's own binary, run as [`DELAYED_HANDLER`]) sends each
//! [`Delayed`] message on to its topic or queue, keeping the time it was published and the delay
//! asked for, which the handler's `Context` reports. A message that arrives early waits again for
//! what is left: Scheduler fires anywhere within the minute of its `at(...)`, so a long delay
//! may arrive up to a minute early and take one more short wait in the delay queue. The scheduler targets the queue rather than
//! the topic because the topics are encrypted with the AWS managed key, which services publishing
//! on a user's behalf cannot use, and because a schedule cannot set the message attributes that
//! carry the publish time.

use serde::{Deserialize, Serialize};

use crate::Kind;

/// The environment variable holding the stack's [`DelayRoute`] as JSON.
pub const DELAY_ENV: &str = "EVENTFN_DELAY";

/// The SSM parameter (below `/<stack>`) holding the same JSON, for publishers outside Lambda.
pub const DELAY_PARAMETER: &str = "delay";

/// The `EVENTFN_HANDLER` of the function that forwards delayed messages when they are due: not
/// a Rust path, so no handler can be named so.
pub const DELAYED_HANDLER: &str = "@delayed";

/// The longest wait SQS holds a message for: 15 minutes.
pub const MAX_QUEUE_DELAY_MS: u64 = 15 * 60 * 1000;

/// Where a stack's delayed messages wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DelayRoute {
    /// URL of the delay queue.
    pub queue: String,
    /// ARN of the delay queue: the target of the schedules.
    pub queue_arn: String,
    /// The schedule group of the stack.
    pub group: String,
    /// ARN of the role the scheduler sends to the delay queue with.
    pub role: String,
    /// ARN of the delay queue's dead letters, where the scheduler puts what the delay queue
    /// would not take within its retry policy. Absent from the route of a stack deployed by an
    /// eventfn before it; its schedules then have no dead letters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letters_arn: Option<String>,
}

/// What a delayed message carries while it waits in the delay queue or a schedule: where it
/// goes, when it was published and for how long it was delayed, and its payload as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delayed<P> {
    /// Where it goes and when it is due.
    pub eventfn: DelayedHeader,
    /// The payload as published (byte for byte when `P` is a `RawValue`).
    pub payload: P,
}

/// The `eventfn` part of a [`Delayed`] message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayedHeader {
    /// `event` or `queue`.
    pub kind: Kind,
    /// The event or queue it is sent on to when due.
    pub name: String,
    /// When it was published, in milliseconds since the Unix epoch.
    pub time: u64,
    /// The delay asked for, in milliseconds.
    pub delay: u64,
}

impl DelayedHeader {
    /// When it is due, in milliseconds since the Unix epoch.
    pub fn due(&self) -> u64 {
        self.time.saturating_add(self.delay)
    }
}

/// Where a message due at `due` (epoch ms) waits, read at `now` (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// It is due: send it now.
    None,
    /// In SQS, this many seconds (1 to 900; rounded up, so never early).
    Queue(u32),
    /// In a one-time schedule at this second (epoch seconds; rounded up).
    Schedule(u64),
}

/// How a message due at `due` waits when sent at `now` (both epoch ms).
pub fn wait(due: u64, now: u64) -> Wait {
    let left = due.saturating_sub(now);
    if left == 0 {
        Wait::None
    } else if left <= MAX_QUEUE_DELAY_MS {
        Wait::Queue(left.div_ceil(1000) as u32)
    } else {
        Wait::Schedule(due.div_ceil(1000))
    }
}

/// The Scheduler expression of a one-time schedule at `second` (epoch seconds), in UTC:
/// `at(2026-11-26T10:00:00)`.
pub fn at_expression(second: u64) -> Option<String> {
    let when = chrono::DateTime::from_timestamp(i64::try_from(second).ok()?, 0)?;
    Some(format!("at({})", when.format("%Y-%m-%dT%H:%M:%S")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-24T10:00:00Z.
    const NOW: u64 = 1_795_514_400_000;

    #[test]
    fn a_route_of_an_earlier_stack_reads_without_dead_letters() {
        let old = r#"{"queue":"https://q","queueArn":"arn:q","group":"App","role":"arn:r"}"#;
        let route: DelayRoute = serde_json::from_str(old).unwrap();
        assert_eq!(route.dead_letters_arn, None);
        assert_eq!(serde_json::to_string(&route).unwrap(), old);
        let new = r#"{"queue":"https://q","queueArn":"arn:q","group":"App","role":"arn:r","deadLettersArn":"arn:d"}"#;
        let route: DelayRoute = serde_json::from_str(new).unwrap();
        assert_eq!(route.dead_letters_arn.as_deref(), Some("arn:d"));
        let unknown = r#"{"queue":"q","queueArn":"a","group":"g","role":"r","extra":1}"#;
        assert!(serde_json::from_str::<DelayRoute>(unknown).is_err());
    }

    #[test]
    fn each_wait_goes_where_aws_can_hold_it() {
        assert_eq!(wait(NOW, NOW), Wait::None);
        assert_eq!(wait(NOW - 5, NOW), Wait::None);
        // Rounded up to whole seconds: never delivered before it is due.
        assert_eq!(wait(NOW + 1, NOW), Wait::Queue(1));
        assert_eq!(wait(NOW + 1_000, NOW), Wait::Queue(1));
        assert_eq!(wait(NOW + 1_001, NOW), Wait::Queue(2));
        assert_eq!(wait(NOW + MAX_QUEUE_DELAY_MS, NOW), Wait::Queue(900));
        assert_eq!(
            wait(NOW + MAX_QUEUE_DELAY_MS + 1, NOW),
            Wait::Schedule((NOW + MAX_QUEUE_DELAY_MS) / 1000 + 1)
        );
    }

    #[test]
    fn schedules_are_at_a_utc_second() {
        assert_eq!(
            at_expression(NOW / 1000 + 2 * 86_400).as_deref(),
            Some("at(2026-11-26T10:00:00)")
        );
        assert_eq!(at_expression(u64::MAX), None);
    }

    #[test]
    fn a_delayed_message_reads_back_as_it_was_written() {
        let text = r#"{"eventfn":{"kind":"event","name":"order.placed","time":1795514400000,"delay":300000},"payload":{"total":1e2,"id":"o-1"}}"#;
        let read: Delayed<&serde_json::value::RawValue> = serde_json::from_str(text).unwrap();
        assert_eq!(read.eventfn.kind, Kind::Event);
        assert_eq!(read.eventfn.due(), NOW + 300_000);
        // The payload is kept byte for byte, not re-encoded.
        assert_eq!(read.payload.get(), r#"{"total":1e2,"id":"o-1"}"#);
        assert_eq!(serde_json::to_string(&read).unwrap(), text);
        let unknown = text.replace("\"delay\"", "\"wait\"");
        assert!(serde_json::from_str::<Delayed<&serde_json::value::RawValue>>(&unknown).is_err());
    }
}
