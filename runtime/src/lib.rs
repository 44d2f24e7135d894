//! Background functions on AWS for Rust.
//!
//! Annotate async functions with [`event`], [`schedule`] or [`queue`]; `cargo eventfn build`
//! reads what was compiled and writes the app's manifest and Lambda artifact.
//!
//! ```
//! use eventfn::{Context, event, queue, schedule};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Signup { user_id: String, email: String }
//!
//! // Every subscriber of an event receives each publish.
//! #[event("account-signup")]
//! async fn send_welcome(signup: Signup, ctx: Context) -> eventfn::Result<()> {
//!     ctx.publish("account-check-email", &signup).await?;
//!     Ok(())
//! }
//!
//! // A second subscriber, with its own timeout and retries.
//! #[event("account-signup", timeout = "10s", retries = 3)]
//! async fn audit(signup: Signup) -> eventfn::Result<()> {
//!     if signup.email.is_empty() {
//!         return Err("signup without an email".into());
//!     }
//!     Ok(())
//! }
//!
//! // EventBridge rate and cron expressions, checked at compile time.
//! #[schedule("rate(1 day)")]
//! async fn daily_cleanup(ctx: Context) -> eventfn::Result<()> { Ok(()) }
//!
//! #[schedule("cron(0 12 * * ? *)")]
//! async fn noon_report() -> eventfn::Result<()> { Ok(()) }
//!
//! #[derive(Deserialize)]
//! struct Job { key: String }
//!
//! // Queues deliver in batches of up to `batch_size` messages.
//! #[queue("thumbnails", batch_size = 10)]
//! async fn thumbnail(job: Job) -> eventfn::Result<()> { Ok(()) }
//!
//! # fn main() {}
//! // In the app's `main`:
//! // #[tokio::main]
//! // async fn main() -> eventfn::Result<()> { eventfn::run().await }
//! ```
//!
//! # Handlers
//!
//! A handler is `async fn(T)`, `async fn(T, Context)`, `async fn(Context)` or `async fn()`, where
//! `T: serde::de::DeserializeOwned` is the payload (schedules take none), returning
//! `eventfn::Result<()>` or any `Result<(), E>` with `E: Display`. The function stays callable
//! as written.
//!
//! The return type is checked as written: a path ending in `Result` (`eventfn::Result<()>`,
//! `anyhow::Result<()>`, `std::io::Result<()>`), so an alias must be named `...::Result` too.
//!
//! Names start with a letter and hold letters, digits, `-`, `.` and `_`, at most 240 characters
//! (Architect's rule); like Architect, eventfn also refuses a trailing `.`, `..`, and names
//! starting with `aws` or `amazon`. Options:
//!
//! | option        | kinds | values | default |
//! |---------------|-------|--------|---------|
//! | `timeout`     | all   | `"1s"` to `"15m"`, like `"10s"`, `"1m30s"` | `"5s"`, or `timeout` of `[package.metadata.eventfn]` |
//! | `retries`     | all   | 0 to 999 | 2 |
//! | `memory`      | all   | 128 to 10240 (MB) | 1024, or `memory` of `[package.metadata.eventfn]` |
//! | `concurrency` | all   | 1 to 1000 reserved executions | unreserved |
//! | `batch_size`  | queue | 1 to 10000; 1 to 10 with `fifo` | 10 |
//! | `fifo`        | queue | `true`, `false` | `false` |
//! | `name`        | schedule | a name | the function's name |
//! | `filter`      | event | an Amazon SNS filter policy on the payload, as a JSON string | every payload |
//!
//! A `filter`, like `filter = r#"{"total": [{"numeric": [">", 100]}], "country": ["NL", "BE"]}"#`,
//! is checked as the handler compiles, against Amazon SNS's grammar and limits (see
//! `eventfn_core::filter`). On AWS it is the handler's SNS subscription's `FilterPolicy` on the
//! message body; in the sandbox the same matcher decides delivery.
//!
//! Every invalid name, expression, option or signature is a compile error on the offending token.
//!
//! # On AWS Lambda
//!
//! [`run`] serves the handler named by `EVENTFN_HANDLER`; see [`lambda`] for what it accepts and
//! how failures are reported, and [`aws`] for how [`publish`] and [`enqueue`] find topics and
//! queues.
//!
//! # Locally
//!
//! Elsewhere, [`run`] serves the [`sandbox`]: `cargo eventfn dev` builds the app for this
//! machine and runs it there, with a durable store, retries, dead letters, delays
//! ([`Publish::after`]) and schedules, and an HTTP API on 127.0.0.1 that `cargo eventfn publish`,
//! `trigger`, `events` and `replay` use. Another local process publishes into it through the same
//! [`publish`] call when `EVENTFN_SANDBOX` holds the address it prints. With
//! `EVENTFN_DESCRIBE=1`, [`run`] prints the app's registrations instead.
//!
//! # Testing
//!
//! With the `testing` feature, `eventfn::testing::TestApp` runs the handlers linked into a test
//! binary in-process, in `#[tokio::test]`s: publish an event and get each subscriber's outcome
//! (filters applied), call a handler as any attempt (with any publish time and delay), fire a
//! schedule, feed a queue a batch and read which records failed, and see what the handlers
//! published and with what delay, or make their publishes fail. Each `TestApp` records only
//! what its own calls sent, so tests run in parallel.
//!
//! # Delays
//!
//! [`Publish::after`] delays a publish or enqueue, up to a year: the sandbox holds it in its
//! store; on AWS it waits in SQS for up to 15 minutes and in an EventBridge Scheduler one-time
//! schedule beyond that ([`eventfn_core::delay`] says which, and what the template adds for it).
//! Either way the handler's [`Context::time`] is when it was published and [`Context::delay`] the
//! delay asked for.

pub mod aws;
#[cfg(feature = "aws")]
mod aws_sdk;
mod context;
mod error;
mod incoming;
pub mod lambda;
mod publish;
mod registry;
mod run;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use context::Context;
pub use error::{Error, PayloadError, Result};
pub use eventfn_core::{Kind, Registration};
pub use eventfn_macros::{event, queue, schedule};
pub use publish::{
    After, Bus, MAX_PAYLOAD_BYTES, Message, Publish, enqueue, enqueue_many, publish, publish_many,
};
pub use registry::{Entry, handlers};
pub use run::{DESCRIBE_ENV, Delivery, run};
