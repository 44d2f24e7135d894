//! Run an app's handlers in-process, in `#[tokio::test]`s: publish an event and await every
//! subscriber, call a handler as any attempt, fire a schedule, feed a queue a batch, and see what
//! the handlers published, without a sandbox, AWS or any network. Enabled by the `testing`
//! feature (`eventfn = { ..., features = ["testing"] }` in `[dev-dependencies]`).
//!
//! ```standalone_crate
//! use eventfn::testing::{Outcome, TestApp};
//!
//! #[eventfn::event("account-signup")]
//! async fn welcome(email: String) -> eventfn::Result<()> {
//!     eventfn::publish("account-check-email", &email).after("5 minutes").await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eventfn::Result<()> {
//! // In a #[tokio::test]:
//! let app = TestApp::new()?;
//! // Another app subscribes to the check: without this, a publish to it fails, as in the sandbox.
//! app.external_event("account-check-email");
//! let runs = app.publish("account-signup", "ada@example.com").await?;
//! assert_eq!(runs[0].outcome, Outcome::Done);
//! let sent = app.published();
//! assert_eq!(sent[0].name, "account-check-email");
//! assert_eq!(sent[0].delay, 5 * 60 * 1000);
//! # Ok(())
//! # }
//! ```
//!
//! What a handler publishes while a [`TestApp`] runs it is recorded by that `TestApp` alone: the
//! recorder travels with the call (a tokio task-local), not in a global, so tests running in
//! parallel never see each other's messages. A handler that publishes from a task it spawns
//! itself (`tokio::spawn`) leaves that scope; its messages then go to the process's bus as
//! outside a test.
//!
//! A publish or enqueue to a name the app has no handler for fails, as it does in the sandbox and
//! on AWS, so that a misspelt name fails its test rather than passing it; declare the events and
//! queues of other apps that the app sends to with [`TestApp::external_event`] and
//! [`TestApp::external_queue`].
//!
//! Each call runs as the runtime runs an attempt on Lambda and in the sandbox: within the
//! handler's `timeout`, a panic caught and reported as a failure, a queue batch through the same
//! dispatcher that answers Lambda with the failed records.
//!
//! A handler that leaves out `timeout` or `memory` gets the app's defaults, as `cargo eventfn`
//! gives it: `[package.metadata.eventfn]` of the Cargo.toml of the package under test (found
//! through `CARGO_MANIFEST_DIR`, which cargo sets when it runs tests), else eventfn's.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use eventfn_core::settings::Settings;
use eventfn_core::{Defaults, Kind};
use serde::Serialize;

use crate::aws::{NAME_ATTRIBUTE, TIME_ATTRIBUTE};
use crate::dispatch::{Naming, call, now_ms};
use crate::error::message;
use crate::lambda::Dispatcher;
use crate::publish::Message;
use crate::registry::{Entry, Payload};
use crate::{Delivery, Result};

tokio::task_local! {
    static RECORDER: Arc<Recorder>;
}

/// What handlers published, and whether their publishes are to fail.
#[derive(Default)]
struct Recorder {
    /// The app's handlers: a message to a name none of them takes is refused.
    entries: &'static [Entry],
    /// Events and queues of other apps, which the test said this one sends to.
    external: Mutex<Vec<(Kind, String)>>,
    sent: Mutex<Vec<Sent>>,
    failing: Mutex<Option<String>>,
}

impl Recorder {
    /// Whether a message to `name` of `kind` has somewhere to go: a handler of the app, or an
    /// event or queue the test declared external; else the error the sandbox gives.
    fn check_target(&self, kind: Kind, name: &str) -> Result<()> {
        let ours = self
            .entries
            .iter()
            .any(|e| e.registration.takes(kind, name));
        let external = || {
            self.external
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|(k, n)| *k == kind && n == name)
        };
        if ours || external() {
            return Ok(());
        }
        let declare = match kind {
            Kind::Queue => "external_queue",
            Kind::Rule => "external_bus",
            _ => "external_event",
        };
        Err(message(format!(
            "{} (the sandbox and AWS refuse it too; if another app takes it, say so with \
             TestApp::{declare})",
            crate::registry::unknown_name(self.entries.iter().map(|e| &e.registration), kind, name)
        )))
    }
}

/// The recorder of the [`TestApp`] running the current task, if any: where `publish` and
/// `enqueue` send instead of the process's bus.
pub(crate) fn capture(outgoing: &[Message]) -> Option<Result<()>> {
    RECORDER
        .try_with(|recorder| {
            for m in outgoing {
                recorder.check_target(m.kind, &m.name)?;
            }
            if let Some(why) = recorder
                .failing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                let first = &outgoing[0];
                return Err(message(format!(
                    "cannot send to {} `{}`: {why} (made to fail by TestApp::fail_publishes)",
                    first.kind.as_str(),
                    first.name
                )));
            }
            let mut sent = recorder.sent.lock().unwrap_or_else(|e| e.into_inner());
            for m in outgoing {
                let body = serde_json::from_str(&m.body).unwrap_or(serde_json::Value::Null);
                sent.push(Sent {
                    kind: m.kind,
                    name: m.name.clone(),
                    // An event put on a bus, as its `PutEvents` entry.
                    payload: match &m.entry {
                        Some(entry) => serde_json::json!({
                            "source": entry.source,
                            "detail-type": entry.detail_type,
                            "detail": body,
                        }),
                        None => body,
                    },
                    delay: m.delay,
                });
            }
            Ok(())
        })
        .ok()
}

/// A message a handler published, enqueued or put on a bus.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// [`Kind::Event`] for `publish`, [`Kind::Queue`] for `enqueue`, [`Kind::Rule`] for
    /// `put_event`.
    pub kind: Kind,
    /// The event or queue it was sent to, or the bus.
    pub name: String,
    /// The payload, as the JSON it was serialized to; for an event put on a bus, its entry:
    /// `{"source": ..., "detail-type": ..., "detail": ...}`.
    pub payload: serde_json::Value,
    /// The delay asked with `.after(...)`, in milliseconds.
    pub delay: u64,
}

/// What became of one handler's delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned `Ok`.
    Done,
    /// The handler returned an error, panicked or timed out: the message says which.
    Failed(String),
    /// The payload does not match the handler's `filter`: it did not run, as on AWS.
    Filtered,
}

/// One subscriber's run of a published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The handler's Rust path, like `app::send_welcome`.
    pub handler: &'static str,
    /// What became of its delivery.
    pub outcome: Outcome,
}

/// What a queue batch answered: the records that failed, to be delivered again by SQS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The positions of the failed records in the batch given.
    pub failed: Vec<usize>,
}

/// The app's handlers, run in this process. Cheap to create: one per test.
pub struct TestApp {
    entries: &'static [Entry],
    /// What a handler that leaves an option out gets: the app's `[package.metadata.eventfn]`.
    defaults: Defaults,
    recorder: Arc<Recorder>,
}

impl TestApp {
    /// Every handler linked into the test binary, with the app's defaults; an error if there is
    /// none or their registrations conflict, as at the app's start, if the Cargo.toml of the
    /// package under test has a `[package.metadata.eventfn]` that `cargo eventfn` would refuse,
    /// or if a retry policy would outlast SQS's retention, which `cargo eventfn build` refuses.
    pub fn new() -> Result<TestApp> {
        let entries = crate::handlers()?;
        let defaults = app_defaults()?;
        let handlers: Vec<_> = entries
            .iter()
            .map(|e| e.registration.resolve(&defaults))
            .collect();
        let unfit = eventfn_core::manifest::unfit_retry_windows(&handlers);
        if !unfit.is_empty() {
            return Err(message(format!(
                "the app's retry policies do not fit on AWS, and `cargo eventfn build` refuses \
                 them:\n  {}",
                unfit.join("\n  ")
            )));
        }
        Ok(TestApp {
            entries,
            defaults,
            recorder: Arc::new(Recorder {
                entries,
                ..Recorder::default()
            }),
        })
    }

    /// Publishes event `name` and runs each of its subscribers once (attempt 1), one after the
    /// other, as each gets a delivery of its own; returns what became of each, in link order.
    /// An error, before anything runs, if no handler subscribes to `name` or the payload cannot
    /// be sent.
    pub async fn publish<T: Serialize + ?Sized>(
        &self,
        name: &str,
        payload: &T,
    ) -> Result<Vec<Run>> {
        let event = Message::new(Kind::Event, name, payload)?;
        let subscribers = self.of(Kind::Event, name)?;
        self.run_each(subscribers, &event.body, event.time).await
    }

    /// Puts an event on `bus`, as EventBridge would deliver it (the envelope as AWS writes it,
    /// from account `000000000000`), and runs each rule on that bus once, one after the other:
    /// those whose pattern does not match it are [`Outcome::Filtered`]. Any `source` is taken,
    /// `aws.s3` as well, so that a test can stand in for AWS's events. An error, before anything
    /// runs, if no rule of the app listens on `bus` or the event is one `PutEvents` refuses.
    pub async fn put_event<T: Serialize + ?Sized>(
        &self,
        bus: &str,
        source: &str,
        detail_type: &str,
        detail: &T,
    ) -> Result<Vec<Run>> {
        let put = Message::put(bus, source, detail_type, detail, true)?;
        let rules = self.of(Kind::Rule, bus)?;
        self.run_each(rules, &crate::bus_event::event_json(&put), put.time)
            .await
    }

    /// Runs each of `entries` once (attempt 1) on `body`, published at `time`, one after the
    /// other; those whose filter or pattern it does not match are [`Outcome::Filtered`].
    async fn run_each(
        &self,
        entries: Vec<&'static Entry>,
        body: &str,
        time: u64,
    ) -> Result<Vec<Run>> {
        let payload = Payload::new(body);
        let mut runs = Vec::with_capacity(entries.len());
        for entry in entries {
            let outcome = if entry.accepts(&payload)? {
                self.run(entry, body.to_owned(), delivery(time, 0, 1)).await
            } else {
                Outcome::Filtered
            };
            runs.push(Run {
                handler: &entry.registration.function,
                outcome,
            });
        }
        Ok(runs)
    }

    /// Calls one handler, named by its Rust path (`app::send_welcome`) or its function's name
    /// (`send_welcome`), with `payload` as attempt `attempt` (1 for the first): how to test what
    /// a handler does on its last attempt. Its filter is not applied.
    pub async fn call<T: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &T,
        attempt: u32,
    ) -> Result<Outcome> {
        self.deliver(handler, payload, delivery(now_ms(), 0, attempt))
            .await
    }

    /// Calls one handler as [`TestApp::call`] does, with the delivery its [`Context`] reports:
    /// how to test a handler on a message published long ago (`time`), delayed (`delay`), or on
    /// its last attempt. A `deadline` of `None` is the handler's `timeout` from now.
    ///
    /// [`Context`]: crate::Context
    pub async fn deliver<T: Serialize + ?Sized>(
        &self,
        handler: &str,
        payload: &T,
        delivery: Delivery,
    ) -> Result<Outcome> {
        let entry = self.handler(handler)?;
        let body = serde_json::to_string(payload)
            .map_err(|e| message(format!("cannot serialize the payload for `{handler}`: {e}")))?;
        if delivery.attempt == 0 {
            return Err(message("attempts count from 1".to_owned()));
        }
        Ok(self.run(entry, body, delivery).await)
    }

    /// Fires schedule `name` (its `name`, by default its function's name) now.
    pub async fn trigger(&self, name: &str) -> Result<Outcome> {
        self.trigger_at(name, now_ms()).await
    }

    /// Fires schedule `name` as due at `time`, in milliseconds since the Unix epoch: the
    /// handler's `Context::time()`, as EventBridge Scheduler sets it to the time the schedule
    /// was due. For a schedule whose handler reads the day or hour it runs for.
    pub async fn trigger_at(&self, name: &str, time: u64) -> Result<Outcome> {
        let entry = self.of(Kind::Schedule, name)?[0];
        Ok(self
            .run(entry, "null".to_owned(), delivery(time, 0, 1))
            .await)
    }

    /// Feeds queue `name` one batch of `payloads`, as SQS would (each as attempt 1), through
    /// the dispatcher that serves it on Lambda; returns the positions of the records that
    /// failed, which SQS would deliver again. A FIFO queue's batch stops at its first failure,
    /// and the rest count as failed, to keep their order.
    pub async fn batch<T: Serialize>(&self, name: &str, payloads: &[T]) -> Result<Batch> {
        let entry = self.of(Kind::Queue, name)?[0];
        let fifo = self.options(entry).fifo == Some(true);
        let queue = if fifo {
            format!("{name}.fifo")
        } else {
            name.to_owned()
        };
        let mut records = Vec::with_capacity(payloads.len());
        for (i, payload) in payloads.iter().enumerate() {
            let job = Message::new(Kind::Queue, name, payload)?;
            records.push(serde_json::json!({
                "messageId": i.to_string(),
                "body": job.body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": job.time.to_string(),
                },
                "messageAttributes": {
                    NAME_ATTRIBUTE: { "stringValue": name, "dataType": "String" },
                    TIME_ATTRIBUTE: { "stringValue": job.time.to_string(), "dataType": "Number" },
                },
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:000000000000:{queue}"),
            }));
        }
        let incoming = serde_json::from_value(serde_json::json!({ "Records": records }))
            .map_err(|e| message(format!("cannot build the batch: {e}")))?;
        let deadline = now_ms() + u64::from(self.options(entry).timeout) * 1000;
        let answer = RECORDER
            .scope(
                self.recorder.clone(),
                Dispatcher::new(entry).dispatch(incoming, "batch", deadline),
            )
            .await
            .map_err(|f| message(f.message))?;
        let mut failed: Vec<usize> = answer["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str()?.parse().ok())
            .collect();
        failed.sort_unstable();
        Ok(Batch { failed })
    }

    /// Runs `work`, code of the app that is not a handler (an HTTP endpoint that publishes, a
    /// script), with this `TestApp`'s recorder: what it publishes or enqueues is in
    /// [`TestApp::published`], and fails while [`TestApp::fail_publishes`] is on, as from a
    /// handler.
    ///
    /// ```standalone_crate
    /// # #[eventfn::event("report-asked")] async fn report(month: String) -> eventfn::Result<()> { Ok(()) }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eventfn::Result<()> {
    /// let app = eventfn::testing::TestApp::new()?;
    /// app.record(async { eventfn::publish("report-asked", "2026-11").await }).await?;
    /// assert_eq!(app.published()[0].name, "report-asked");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn record<F: IntoFuture>(&self, work: F) -> F::Output {
        RECORDER
            .scope(self.recorder.clone(), work.into_future())
            .await
    }

    /// Everything the handlers run by this `TestApp` published or enqueued so far, in order.
    pub fn published(&self) -> Vec<Sent> {
        self.recorder
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// From now on, a publish or enqueue by a handler run by this `TestApp` fails with `why`:
    /// how to test a handler whose publish fails. [`TestApp::publishes_succeed`] undoes it.
    pub fn fail_publishes(&self, why: impl Into<String>) {
        *self
            .recorder
            .failing
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(why.into());
    }

    /// Event `name` belongs to another app (or a topic outside eventfn) that this one publishes
    /// to: a publish to it is recorded rather than refused. Without this, a publish to an event
    /// no handler of the app subscribes to fails, as it does in the sandbox and on AWS, so that a
    /// misspelt name fails its test.
    pub fn external_event(&self, name: &str) {
        self.recorder
            .external
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((Kind::Event, name.to_owned()));
    }

    /// Queue `name` belongs to another app: an enqueue to it is recorded rather than refused
    /// (see [`TestApp::external_event`]).
    pub fn external_queue(&self, name: &str) {
        self.recorder
            .external
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((Kind::Queue, name.to_owned()));
    }

    /// Bus `name` belongs to another app (or is one the app puts on for others): a
    /// `put_event` to it is recorded rather than refused (see [`TestApp::external_event`]).
    pub fn external_bus(&self, name: &str) {
        self.recorder
            .external
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((Kind::Rule, name.to_owned()));
    }

    /// Publishes succeed again.
    pub fn publishes_succeed(&self) {
        *self
            .recorder
            .failing
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    async fn run(&self, entry: &'static Entry, body: String, mut delivery: Delivery) -> Outcome {
        if delivery.deadline.is_none() {
            let timeout = Duration::from_secs(u64::from(self.options(entry).timeout));
            delivery.deadline = Some(SystemTime::now() + timeout);
        }
        match RECORDER
            .scope(
                self.recorder.clone(),
                call(entry, body, delivery, Naming::Message),
            )
            .await
        {
            Ok(()) => Outcome::Done,
            Err(failure) => Outcome::Failed(failure.message),
        }
    }

    /// The handlers of `kind` named `name` (for [`Kind::Rule`], the rules on bus `name`); an
    /// error naming those there are.
    fn of(&self, kind: Kind, name: &str) -> Result<Vec<&'static Entry>> {
        let found: Vec<&'static Entry> = self
            .entries
            .iter()
            .filter(|e| e.registration.takes(kind, name))
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
        Err(message(crate::registry::unknown_name(
            self.entries.iter().map(|e| &e.registration),
            kind,
            name,
        )))
    }

    /// A handler's options, those it leaves out at the app's defaults.
    fn options(&self, entry: &Entry) -> eventfn_core::Options {
        entry.registration.resolve(&self.defaults).options
    }

    fn handler(&self, handler: &str) -> Result<&'static Entry> {
        let found: Vec<&'static Entry> = self
            .entries
            .iter()
            .filter(|e| {
                let function = e.registration.function.as_str();
                function == handler || function.rsplit("::").next() == Some(handler)
            })
            .collect();
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(message(format!(
                "this app has no handler `{handler}`; its handlers are: {}",
                self.entries
                    .iter()
                    .map(|e| e.registration.function.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            many => Err(message(format!(
                "`{handler}` names {} handlers ({}): give its full path",
                many.len(),
                many.iter()
                    .map(|e| e.registration.function.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The defaults of `[package.metadata.eventfn]` in the Cargo.toml of the package under test
/// (`CARGO_MANIFEST_DIR`), read once per process; eventfn's own when there is no such file.
fn app_defaults() -> Result<Defaults> {
    static READ: OnceLock<std::result::Result<Defaults, String>> = OnceLock::new();
    READ.get_or_init(|| match std::env::var_os("CARGO_MANIFEST_DIR") {
        None => Ok(Defaults::default()),
        Some(dir) => defaults_of(&Path::new(&dir).join("Cargo.toml")),
    })
    .clone()
    .map_err(message)
}

/// The defaults that `[package.metadata.eventfn]` of the Cargo.toml at `path` sets, through the
/// same reader as `cargo eventfn`'s.
fn defaults_of(path: &Path) -> std::result::Result<Defaults, String> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Defaults::default()),
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let manifest: toml::Table = text
        .parse()
        .map_err(|e| format!("{shown} is not valid TOML: {e}"))?;
    let metadata = manifest
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("eventfn"))
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| format!("{shown}: [package.metadata.eventfn]: {e}"))?;
    Settings::from_metadata(metadata.as_ref(), &shown).map(|settings| settings.defaults)
}

/// A delivery published at `time`, within the handler's timeout.
fn delivery(time: u64, delay: u64, attempt: u32) -> Delivery {
    Delivery {
        id: format!("test-{time}-{attempt}"),
        time,
        delay,
        attempt,
        deadline: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults_in(toml: &str) -> std::result::Result<Defaults, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.toml");
        std::fs::write(&path, toml).unwrap();
        defaults_of(&path)
    }

    #[test]
    fn the_apps_defaults_come_from_its_cargo_toml() {
        let set = defaults_in(
            "[package]\nname = \"app\"\n[package.metadata.eventfn]\ntimeout = \"1m\"\nmemory = 512\n",
        )
        .unwrap();
        assert_eq!((set.timeout, set.memory), (60, 512));
        let unset = defaults_in("[package]\nname = \"app\"\n").unwrap();
        assert_eq!(unset, Defaults::default());
        assert_eq!(
            defaults_of(Path::new("/nonexistent/Cargo.toml")).unwrap(),
            Defaults::default()
        );
    }

    #[test]
    fn a_bad_cargo_toml_is_an_error_naming_it() {
        let bad = defaults_in("[package.metadata.eventfn]\ntimeout = \"20m\"\n").unwrap_err();
        assert!(
            bad.contains("Cargo.toml: [package.metadata.eventfn] timeout: "),
            "{bad}"
        );
        let torn = defaults_in("[package\n").unwrap_err();
        assert!(torn.contains("Cargo.toml is not valid TOML"), "{torn}");
    }
}
