//! What every driver of handlers shares: Lambda ([`crate::lambda`]), the sandbox and the test
//! kit each call a handler through [`call`], within a deadline, its panics caught, and name
//! what went wrong as a [`Failure`] of one [`FailureKind`]. The drivers differ in where
//! deliveries come from and where failures go, not in how a handler is run, so a new kind of
//! input (EventBridge events, say) is one change in [`crate::Entry::invoke`], whatever the
//! driver.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::time::{SystemTime, UNIX_EPOCH};

use eventfn_core::quote::excerpt;
use futures_util::FutureExt;

use crate::Delivery;
use crate::error::handler_said;
use crate::registry::Entry;

/// Why an invocation, or one record of it, failed. Its kind becomes the Lambda error type
/// (`eventfn.HandlerError`, ...), its text the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed: the error type is `eventfn.` and its [`FailureKind::as_str`].
    pub kind: FailureKind,
    /// What happened, naming the event, the handler, the message and the attempt where known.
    pub message: String,
}

/// What kind of [`Failure`] an invocation or a record had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No handler, or an unknown one, selected: reported as an init error.
    Init,
    /// The handler returned `Err`.
    HandlerError,
    /// The handler panicked.
    Panic,
    /// The handler ran past its timeout or the Lambda deadline.
    Timeout,
    /// The payload does not deserialize into the handler's type: permanent, as no attempt
    /// reads it otherwise.
    PayloadError,
    /// The handler returned an error made by [`crate::permanent`]: retrying cannot mend it.
    Permanent,
    /// The event is not the one this function handles.
    UnknownEvent,
    /// The input is not a shape eventfn knows.
    BadInput,
}

impl FailureKind {
    /// The variant's name, as in the Lambda error type `eventfn.HandlerError`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Init => "Init",
            FailureKind::HandlerError => "HandlerError",
            FailureKind::Panic => "Panic",
            FailureKind::Timeout => "Timeout",
            FailureKind::PayloadError => "PayloadError",
            FailureKind::Permanent => "Permanent",
            FailureKind::UnknownEvent => "UnknownEvent",
            FailureKind::BadInput => "BadInput",
        }
    }
}

impl Failure {
    pub(crate) fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// Whether no later attempt can mend it: a payload the handler cannot read, or an error the
    /// handler made with [`crate::permanent`]. Its delivery is a dead letter at once.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::PayloadError | FailureKind::Permanent
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// How a failure names the delivery it is about, before its attempt: `message m-1` on Lambda and
/// in the test kit, `event 9, delivery 14` in the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    /// By its message id, [`Delivery::id`].
    Message,
    /// In the sandbox, where [`Delivery::id`] is the stored event's id: by that and by the id
    /// of this handler's delivery of it, the two ids the sandbox knows.
    // Made only by the sandbox.
    #[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
    Sandbox {
        /// The delivery's id in the sandbox's store.
        delivery: i64,
    },
}

impl Naming {
    /// `message m-1, attempt 2` or `event 9, delivery 14, attempt 2`.
    fn name(self, id: &str, attempt: u32) -> String {
        let id = if id.is_empty() {
            "without id".into()
        } else {
            excerpt(id)
        };
        match self {
            Naming::Message => format!("message {id}, attempt {attempt}"),
            Naming::Sandbox { delivery } => {
                format!("event {id}, delivery {delivery}, attempt {attempt}")
            }
        }
    }
}

/// Calls a handler with a JSON payload until `delivery.deadline`, catching its panics: how both
/// Lambda and the local sandbox run an attempt. The failure names the event, the handler, the
/// delivery (as `naming` says) and the attempt.
pub(crate) async fn call(
    entry: &'static Entry,
    body: String,
    delivery: Delivery,
    naming: Naming,
) -> Result<(), Failure> {
    let registration = &entry.registration;
    let (id, attempt, deadline) = (delivery.id.clone(), delivery.attempt, delivery.deadline);
    // Built only when something fails.
    let which = || naming.name(&id, attempt);
    let what = || {
        format!(
            "{} `{}`, handler `{}` ({})",
            registration.kind.as_str(),
            registration.name,
            registration.function,
            which()
        )
    };
    // A panic is caught here, so the runtime keeps serving; dropping the call on timeout cancels it.
    let call = AssertUnwindSafe(entry.invoke(body, delivery)).catch_unwind();
    let outcome = match deadline.map(|d| d.duration_since(SystemTime::now())) {
        Some(Ok(left)) => match tokio::time::timeout(left, call).await {
            Ok(outcome) => outcome,
            Err(_) => {
                return Err(Failure::new(
                    FailureKind::Timeout,
                    format!("{} timed out after {} ms", what(), left.as_millis()),
                ));
            }
        },
        Some(Err(_)) => {
            return Err(Failure::new(
                FailureKind::Timeout,
                format!("{} had no time left before its deadline", what()),
            ));
        }
        None => call.await,
    };
    match outcome {
        Ok(Ok(())) => Ok(()),
        // A payload error already names the event and handler.
        Ok(Err(error)) if error.is::<crate::PayloadError>() => Err(Failure::new(
            FailureKind::PayloadError,
            format!(
                "{error} ({}; not retried: every attempt would read it the same way)",
                which()
            ),
        )),
        Ok(Err(error)) if error.is::<crate::Permanent>() => Err(Failure::new(
            FailureKind::Permanent,
            format!(
                "{} failed for good (not retried): {}",
                what(),
                handler_said(&error.to_string())
            ),
        )),
        Ok(Err(error)) => Err(Failure::new(
            FailureKind::HandlerError,
            format!("{} failed: {}", what(), handler_said(&error.to_string())),
        )),
        Err(panic) => {
            let cause = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(Failure::new(
                FailureKind::Panic,
                format!("{} panicked: {}", what(), handler_said(&cause)),
            ))
        }
    }
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
