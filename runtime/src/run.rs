//! `eventfn::run()`: what the app's `main` hands control to.

use std::time::SystemTime;

use crate::__private::Invocation;
#[cfg(not(feature = "sandbox"))]
use crate::error::message;
use crate::registry::{Entry, handlers};
use crate::{Context, Result};

/// Environment variable that makes [`run`] print the app's registrations as JSON and exit.
pub const DESCRIBE_ENV: &str = "EVENTFN_DESCRIBE";

/// Serves the app's handlers in the environment the process runs in.
///
/// - with `EVENTFN_DESCRIBE=1` (any value but empty, `0` or `false`): prints every registration as a JSON array on stdout and returns;
/// - on AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set): serves the handler named by
///   `EVENTFN_HANDLER` (see [`lambda`](crate::lambda)) until the runtime stops;
/// - elsewhere: the local sandbox (see [`sandbox`](crate::sandbox)), until the process is
///   stopped; without eventfn's `sandbox` feature, an error that says so.
///
/// Before anything else it checks the registry: no handlers, an unreadable registration or two
/// conflicting ones (two queues with one name, say) is an error naming them.
///
/// In the sandbox, which `cargo eventfn dev` runs, an error that stops it (one of those, the port
/// taken, the store in use by another sandbox) is printed as `cargo eventfn`'s own errors are,
/// `error: ...` on stderr, and the process exits with status 1: returned from `main`, Rust would
/// print it as `Error: ...`.
pub async fn run() -> Result<()> {
    let describe =
        std::env::var(DESCRIBE_ENV).is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    let lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    #[cfg(feature = "sandbox")]
    if !describe && !lambda {
        let served = match handlers() {
            Ok(entries) => Box::pin(crate::sandbox::serve(entries)).await,
            Err(error) => Err(error),
        };
        if let Err(error) = served {
            crate::sandbox::log::error(&error.to_string());
            std::process::exit(1);
        }
        return Ok(());
    }
    let entries = handlers()?;
    if describe {
        let registrations: Vec<_> = entries.iter().map(|e| &e.registration).collect();
        println!("{}", serde_json::to_string_pretty(&registrations)?);
        return Ok(());
    }
    #[cfg(not(feature = "sandbox"))]
    if !lambda {
        return Err(message(format!(
            "eventfn: this app has {} handler{}, and it runs on AWS Lambda (where \
             AWS_LAMBDA_RUNTIME_API is set); it was built without the `sandbox` feature of \
             eventfn, which runs it locally: run it with `cargo eventfn dev`, which turns it on. \
             Build its manifest and Lambda artifact with `cargo eventfn build`, or set \
             {DESCRIBE_ENV}=1 to list its handlers",
            entries.len(),
            if entries.len() == 1 { "" } else { "s" }
        )));
    }
    // Boxed, as the sandbox's is: the server's future is some 12 KB, and `main`'s runtime moves
    // the future it is given several times before polling it; a box makes those moves of a
    // pointer (50,000 of the 620,000 instructions from process start to the first `/next`,
    // `benches/parity.rs`).
    Box::pin(crate::lambda::serve(entries)).await
}

/// How a delivery reached a handler: what its [`Context`] reports.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The message's id, [`Context::id`]. On Lambda, as the template delivers everything through
    /// the handler's own SQS queue, the SQS message id (so each subscriber of an event sees an
    /// id of its own, as does each firing of a schedule); for a record that came some other way,
    /// the SNS message id, the EventBridge event id or the request id of a direct invoke. In the
    /// sandbox, the stored event's id, the same for each of its subscribers; in the test kit,
    /// `test-<time>-<attempt>`.
    pub id: String,
    /// When published, in milliseconds since the Unix epoch.
    pub time: u64,
    /// Requested delay, in milliseconds.
    pub delay: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the attempt must be finished, as [`Context::deadline`] reports it; Lambda, the
    /// sandbox and the test kit stop the handler then, as timed out. `None`: no limit (but
    /// `TestApp::deliver` makes it the handler's `timeout` from now).
    pub deadline: Option<SystemTime>,
}

impl Entry {
    /// Calls the handler with a JSON payload, as the runtime does for each delivery. A
    /// `#[rule]`'s payload is the whole EventBridge event: its handler reads the `detail` (or
    /// the whole event, for a payload type named `EventBridgeEvent`), and its [`Context`] the
    /// envelope; the event's `time` is [`Context::time`].
    pub async fn invoke(&'static self, payload: String, delivery: Delivery) -> Result<()> {
        let mut context = Context {
            id: delivery.id,
            time: delivery.time,
            delay: delivery.delay,
            attempt: delivery.attempt,
            deadline: delivery.deadline,
            handler: &self.registration,
            event: None,
        };
        let mut payload = payload;
        if self.registration.kind == eventfn_core::Kind::Rule {
            let (envelope, detail) = crate::bus_event::split(&payload, &context)?;
            if let Some(time) = envelope.time.as_deref().and_then(crate::bus_event::millis) {
                context.time = time;
            }
            if !crate::bus_event::takes_whole_event(self.registration.payload.as_deref()) {
                payload = detail;
            }
            context.event = Some(std::sync::Arc::new(envelope));
        }
        (self.registered.call)(Invocation { payload, context }).await
    }
}
