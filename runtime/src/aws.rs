//! Publishing on AWS: events go to SNS topics, queue jobs to SQS queues, events put on a bus to
//! EventBridge (`PutEvents`).
//!
//! Each is found by name, first in the environment when a process sets it —
//! `EVENTFN_TOPICS` (`{"account-signup": "arn:aws:sns:..."}`) and `EVENTFN_QUEUES`
//! (`{"thumbnails": "https://sqs..."}`) — then in SSM parameters `/<stack>/events/<name>` and
//! `/<stack>/queues/<name>` when `EVENTFN_STACK` names the stack, as Architect does. The
//! template sets only `EVENTFN_STACK` on a deployed function: each address is read from SSM once
//! per instance, and the environment stays the same size however many events the app has.
//!
//! A delayed publish waits in SQS or in an EventBridge Scheduler schedule, found through
//! `EVENTFN_DELAY` or the SSM parameter `/<stack>/delay` (see [`eventfn_core::delay`]).
//!
//! The SDK clients are built on the first send, not before: a function that never publishes pays
//! nothing for them at cold start. `AWS_ENDPOINT_URL` points them elsewhere (moto in the tests).
//!
//! The SDK part is the `aws` feature of eventfn, which links every client. A process that
//! publishes into a deployed stage (a web server, a script) turns it on itself: `eventfn = {
//! version = "0.1", features = ["aws"] }`. Without it, a publish on AWS is an error that says so.
//! It is off by default, so that an app's dev and test builds compile no AWS SDK.
//!
//! `cargo eventfn build` (and so `deploy`) links into a Lambda artifact only what the app needs
//! ([`eventfn_core::Client`]): `aws-base` (the configuration, SQS and SSM's `GetParameter`), with
//! `aws-sns` when the app has an `#[event]` handler, `aws-eventbridge` when its code calls
//! [`put_event`](crate::put_event) or [`put_events`](crate::put_events), and `aws-scheduler`
//! when it calls [`Publish::after`](crate::Publish::after). A send that needs a client the
//! build left out is an error naming the feature.

#[cfg(feature = "aws-base")]
pub use crate::aws_sdk::connect_stack;

/// The environment variable mapping event names to their SNS topics' ARNs, as a JSON object.
pub const TOPICS_ENV: &str = "EVENTFN_TOPICS";
/// The environment variable mapping queue names to their SQS queues' URLs, as a JSON object.
pub const QUEUES_ENV: &str = "EVENTFN_QUEUES";
/// The environment variable mapping the names of the app's own buses to the names EventBridge
/// knows them by, as a JSON object; else `/<stack>/buses/<name>` in SSM.
pub const BUSES_ENV: &str = "EVENTFN_BUSES";
/// The environment variable naming the stack whose SSM parameters hold the topics, queues and
/// delay route that `EVENTFN_TOPICS`, `EVENTFN_QUEUES` and `EVENTFN_DELAY` lack.
pub const STACK_ENV: &str = "EVENTFN_STACK";

/// Message attributes set on every message, read back on delivery as the handler's `Context`.
///
/// This one holds the event or queue name (a `String`): with `EVENTFN_HANDLER=*` it routes the
/// message to its handlers.
pub const NAME_ATTRIBUTE: &str = "eventfn.name";
/// The message attribute holding when the message was published, in milliseconds since the
/// Unix epoch (a `Number`): [`Context::time`](crate::Context::time).
pub const TIME_ATTRIBUTE: &str = "eventfn.time";
/// The message attribute holding the delay asked for, in milliseconds (a `Number`):
/// [`Context::delay`](crate::Context::delay).
pub const DELAY_ATTRIBUTE: &str = "eventfn.delay";

/// Whether this process is configured to publish on AWS.
pub(crate) fn configured() -> bool {
    [
        TOPICS_ENV,
        QUEUES_ENV,
        BUSES_ENV,
        STACK_ENV,
        "AWS_LAMBDA_RUNTIME_API",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}
