//! Serving handlers on AWS Lambda, through `lambda_runtime` and `aws_lambda_events`.
//!
//! Each deployed function runs one handler, named by `EVENTFN_HANDLER` (its Rust path, like
//! `welcome::send_welcome`). With `EVENTFN_HANDLER=*` one function serves every handler of the
//! binary, routing each message by the event name its publisher set (`eventfn.name`), or by the
//! topic, queue or rule it came from (the names in `EVENTFN_TOPICS` / `EVENTFN_QUEUES`, else the
//! last part of the ARN); every subscriber of an event then runs in the same invocation, so a
//! failure of one retries them all: deploy one function per handler where that matters.
//! With `EVENTFN_HANDLER=@delayed` the function is the stack's forwarder of delayed messages: it
//! reads the delay queue and sends each message on to its topic or queue once it is due (see
//! [`eventfn_core::delay`]).
//!
//! What arrives is recognised by its shape:
//!
//! | input | delivered as |
//! |---|---|
//! | `{"Records": [{"Sns": ...}]}` | SNS to Lambda: each record's `Message` is the payload |
//! | `{"Records": [{"eventSource": "aws:sqs", "body": ...}]}` | an SQS batch: each `body` is the payload, or an SNS notification envelope whose `Message` is (SNS to SQS without raw delivery), or an EventBridge event that a rule sent to the handler's queue (a schedule firing, or a `#[rule]`'s event, which its handler reads whole: its `detail` and envelope); failed records are reported in `batchItemFailures` |
//! | `{"source": "aws.events" \| "aws.scheduler", "detail-type": ...}` | a schedule firing |
//! | anything else | a direct invoke (`aws lambda invoke`): the body is the payload |
//!
//! Fields AWS or its emulators leave out are not required: Architect's sandbox sends SNS records
//! with nothing but `{"Sns": {"Message": ...}}`.
//!
//! With `EVENTFN_DEAD_LETTERS` (a queue URL) and `EVENTFN_ATTEMPTS` (`retries + 1`), as the
//! template sets them, a record of an SQS batch that fails on its last attempt, or fails in a way
//! no attempt can mend (`eventfn.PayloadError`, `eventfn.Permanent`: see [`Failure::is_permanent`]),
//! is sent to that dead-letter queue with the error, the attempts and the handler as message
//! attributes, and reported handled (see [`eventfn_core::dead`]); if that send fails, the record is reported
//! failed and the queue's redrive moves it.
//!
//! A handler's timeout stops it at an `.await`: a handler that blocks the thread (CPU work or
//! blocking I/O without `spawn_blocking`) runs until Lambda ends the invocation.
//!
//! # What fails, and how it says so
//!
//! eventfn reads every body Lambda hands the function itself ([`Incoming::from_slice`]), so a body
//! that is empty, not UTF-8, not JSON, cut short, or JSON of a shape it cannot handle fails the
//! invocation with the error type `eventfn.BadInput`, naming what was wrong and where
//! (`` `Records[0].Sns.Message` ``, or a line and column); a leading byte order mark is ignored.
//! A record of an SQS batch that cannot be read (a `body` that is not a string, say) fails alone,
//! in `batchItemFailures`; only a record without a `messageId` fails the whole batch, since Lambda
//! could not be told which one failed. An SNS `Timestamp` that is not a time costs nothing but a
//! warning in the log: the message's time is then the time it was received.
//!
//! An error never quotes more than [`eventfn_core::quote::MAX_QUOTED_CHARS`] characters of a
//! value it was given (a payload's field, an event name, a message id, a body), nor more than
//! 1000 of what a handler said, so the Lambda error response, the log line and the dead letter's
//! `eventfn.error` stay small whatever the payload holds, and still name the event, the handler
//! and the field.
//!
//! # Logs
//!
//! The function logs to stdout as `lambda_runtime` does: `RUST_LOG` filters what is logged, with
//! a level and levels per target (`warn,my_app=debug`, as `tracing_subscriber`'s `Targets` reads
//! them: span and field filters are not read, and a directive that cannot be read is named on
//! stderr and left out); without it, `AWS_LAMBDA_LOG_LEVEL` sets the level (`INFO` by
//! default); `AWS_LAMBDA_LOG_FORMAT=JSON` makes each line a JSON object.
//! Whatever they say, the trace events of the AWS SDK's `aws_smithy_runtime` and
//! `aws_sigv4` are left out, because they print credentials: each request sent with its headers
//! (`authorization`, `x-amz-security-token`) and the canonical request signed, which holds the
//! session token. Set `EVENTFN_LOG_SECRETS=1` to let them in, for a debugging session on a
//! function whose logs no one else reads. (`hyper` and `h2`, beneath them, log no header values.)
//! An app that installs a `tracing` subscriber of its own before [`crate::run`] keeps it, and
//! its filtering is its own.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::{MessageAttribute, SnsMessage};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use eventfn_core::Kind;
use eventfn_core::attempt;
#[cfg(feature = "aws-base")]
use eventfn_core::dead::{ATTEMPTS_ATTRIBUTE, ERROR_ATTRIBUTE, HANDLER_ATTRIBUTE, shorten};
use eventfn_core::dead::{ATTEMPTS_ENV, DEAD_LETTERS_ENV};
use eventfn_core::delay::{DELAYED_HANDLER, Delayed, DelayedHeader};
use eventfn_core::quote::excerpt;
use lambda_runtime::tower::Layer;
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Service};
use serde::de::IgnoredAny;
use serde_json::Value;
use tracing_subscriber as subscriber;

use crate::Delivery;
use crate::aws::{DELAY_ATTRIBUTE, NAME_ATTRIBUTE, TIME_ATTRIBUTE};
pub use crate::dispatch::{Failure, FailureKind};
use crate::dispatch::{Naming, call, now_ms};
use crate::error::json_error;
use crate::incoming::LenientSns;
pub use crate::incoming::{BadRecord, Incoming};
use crate::registry::Entry;

/// The environment variable that names the handler a function runs.
pub const HANDLER_ENV: &str = "EVENTFN_HANDLER";

/// How long before Lambda's own deadline a handler is stopped, so its failure is still reported.
const DEADLINE_MARGIN: Duration = Duration::from_millis(100);

impl From<Failure> for Diagnostic {
    fn from(failure: Failure) -> Diagnostic {
        Diagnostic {
            error_type: format!("eventfn.{}", failure.kind.as_str()),
            error_message: failure.message,
        }
    }
}

/// The dispatcher for `EVENTFN_HANDLER` (`value`): one handler, or `*` for all of them.
pub fn select(entries: &'static [Entry], value: Option<&str>) -> Result<Dispatcher, Failure> {
    let list = || {
        entries
            .iter()
            .map(|e| e.registration.function.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(wanted) = value.filter(|v| !v.is_empty()) else {
        return Err(Failure::new(
            FailureKind::Init,
            format!(
                "{HANDLER_ENV} is not set: it names the handler this function runs, one of: {} \
                 (or `*` for all of them)",
                list()
            ),
        ));
    };
    if wanted == DELAYED_HANDLER {
        return Ok(Dispatcher {
            selection: Selection::Delayed,
            routes: Routes::default(),
            dead: None,
        });
    }
    if wanted == "*" {
        return Ok(Dispatcher {
            selection: Selection::All(entries),
            routes: Routes::from_env()?,
            dead: None,
        });
    }
    entries
        .iter()
        .find(|e| e.registration.function == wanted)
        .map(|entry| {
            DeadLetters::from_env(|var| std::env::var(var).ok())
                .map(|dead| Dispatcher::new(entry).with_dead_letters(dead))
        })
        .unwrap_or_else(|| {
            Err(Failure::new(
                FailureKind::Init,
                format!(
                    "{HANDLER_ENV}=`{wanted}` is not a handler of this binary; its handlers are: {}",
                    list()
                ),
            ))
        })
}

/// One message to hand to the handler.
#[derive(Clone)]
struct Message {
    id: String,
    body: String,
    /// The event name the publisher gave, when it said.
    name: Option<String>,
    /// The ARN of the topic, queue or rule it came from, when known.
    source: Option<String>,
    /// A schedule firing rather than a payload.
    schedule: bool,
    /// The body is a whole EventBridge event (a rule's, or a schedule's firing): a `#[rule]`
    /// handler reads it so.
    event: bool,
    time: u64,
    delay: u64,
    attempt: u32,
}

enum Selection {
    One(&'static Entry),
    All(&'static [Entry]),
    /// The stack's function of delayed messages: it sends each on when it is due.
    Delayed,
}

/// Names of topics and queues by ARN, for routing when messages do not carry their name.
#[derive(Default)]
struct Routes {
    by_arn: HashMap<String, String>,
    /// Queue names (the last part of a queue URL or ARN) to the app's names.
    by_queue: HashMap<String, String>,
}

impl Routes {
    fn from_env() -> Result<Routes, Failure> {
        let read = |var: &str| -> Result<HashMap<String, String>, Failure> {
            match std::env::var(var) {
                Err(_) => Ok(HashMap::new()),
                Ok(text) => serde_json::from_str(&text).map_err(|e| {
                    Failure::new(
                        FailureKind::Init,
                        format!(
                            "{var} is not a JSON object of names to addresses ({}): {}",
                            json_error(&e),
                            excerpt(&text)
                        ),
                    )
                }),
            }
        };
        let mut routes = Routes::default();
        for (name, arn) in read(crate::aws::TOPICS_ENV)? {
            routes.by_arn.insert(arn, name);
        }
        for (name, url) in read(crate::aws::QUEUES_ENV)? {
            routes.by_queue.insert(last_part(&url).to_owned(), name);
        }
        Ok(routes)
    }

    fn name_of(&self, arn: &str) -> String {
        self.by_arn
            .get(arn)
            .or_else(|| self.by_queue.get(last_part(arn)))
            .cloned()
            .unwrap_or_else(|| last_part(arn).to_owned())
    }
}

/// The last part of an ARN or URL: `arn:aws:sns:us-east-1:1:topic` → `topic`,
/// `arn:aws:events:us-east-1:1:rule/nightly` → `nightly`.
fn last_part(address: &str) -> &str {
    address.rsplit([':', '/']).next().unwrap_or(address)
}

/// Runs the selected handler (or handlers) for every invocation of its function.
pub struct Dispatcher {
    selection: Selection,
    routes: Routes,
    /// Where a message failed on its last attempt goes, with why (see [`eventfn_core::dead`]).
    dead: Option<DeadLetters>,
}

/// A function's dead-letter queue, and how many attempts a message gets before it goes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetters {
    /// The dead-letter queue's URL: `EVENTFN_DEAD_LETTERS`.
    pub queue: String,
    /// The attempts a message gets, `retries + 1`: `EVENTFN_ATTEMPTS`, 1 or more.
    pub attempts: u32,
}

impl DeadLetters {
    /// From `EVENTFN_DEAD_LETTERS` and `EVENTFN_ATTEMPTS` (`lookup` reads a variable); `None`
    /// when the queue is not set.
    pub fn from_env(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<DeadLetters>, Failure> {
        let Some(queue) = lookup(DEAD_LETTERS_ENV).filter(|q| !q.is_empty()) else {
            return Ok(None);
        };
        let text = lookup(ATTEMPTS_ENV).unwrap_or_default();
        let attempts = text.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            Failure::new(
                FailureKind::Init,
                format!(
                    "{ATTEMPTS_ENV} is `{text}`: with {DEAD_LETTERS_ENV} set, it must be the \
                     number of attempts a message gets (retries + 1), 1 or more"
                ),
            )
        })?;
        Ok(Some(DeadLetters { queue, attempts }))
    }
}

impl Dispatcher {
    /// A dispatcher for one handler.
    pub fn new(entry: &'static Entry) -> Dispatcher {
        Dispatcher {
            selection: Selection::One(entry),
            routes: Routes::default(),
            dead: None,
        }
    }

    /// Sends what fails on its last attempt to `dead`, with why, rather than leaving it to the
    /// queue's redrive.
    pub fn with_dead_letters(mut self, dead: Option<DeadLetters>) -> Dispatcher {
        self.dead = dead;
        self
    }

    /// Checks that a message is for the one handler this function runs.
    fn check(entry: &'static Entry, message: &Message) -> Result<(), Failure> {
        let r = &entry.registration;
        if message.schedule && !matches!(r.kind, Kind::Schedule | Kind::Rule) {
            return Err(Failure::new(
                FailureKind::UnknownEvent,
                format!(
                    "a scheduled event reached {} handler `{}`, which is not a schedule",
                    r.kind.as_str(),
                    r.function
                ),
            ));
        }
        if let Some(name) = &message.name
            && name != &r.name
        {
            return Err(Failure::new(
                FailureKind::UnknownEvent,
                format!(
                    "received `{}`, but this function runs {} handler `{}` of `{}`",
                    excerpt(name),
                    r.kind.as_str(),
                    r.function,
                    r.name
                ),
            ));
        }
        Ok(())
    }

    /// The handlers of this binary a message goes to, when it serves all of them.
    fn targets(
        &self,
        entries: &'static [Entry],
        message: &Message,
    ) -> Result<Vec<&'static Entry>, Failure> {
        let name = message.name.clone().or_else(|| {
            message
                .source
                .as_deref()
                .map(|arn| self.routes.name_of(arn))
        });
        let wanted = |e: &&Entry| {
            (e.registration.kind == Kind::Schedule) == message.schedule
                && name.as_deref() == Some(e.registration.name.as_str())
        };
        let mut targets: Vec<&'static Entry> = if message.event && !message.schedule {
            // A rule's event says neither its rule nor its bus: it goes to every rule whose
            // pattern matches, as on a bus that all of them listen on.
            let event: Option<Value> = serde_json::from_str(&message.body).ok();
            entries
                .iter()
                .filter(|e| e.registration.kind == Kind::Rule)
                .filter(|e| {
                    matches!((e.pattern(), &event), (Ok(Some(p)), Some(event)) if p.matches(event))
                })
                .collect()
        } else {
            entries.iter().filter(wanted).collect()
        };
        if targets.is_empty() && message.schedule {
            // A rule named otherwise: fine when the app has a single schedule.
            let schedules: Vec<&'static Entry> = entries
                .iter()
                .filter(|e| e.registration.kind == Kind::Schedule)
                .collect();
            if let [one] = schedules.as_slice() {
                targets.push(one);
            }
        }
        if targets.is_empty() {
            return Err(Failure::new(
                FailureKind::UnknownEvent,
                match name {
                    Some(name) => {
                        format!("no handler of this binary handles `{}`", excerpt(&name))
                    }
                    None => "cannot tell which event this is: it carries no `eventfn.name` \
                             attribute and no source ARN"
                        .to_owned(),
                },
            ));
        }
        Ok(targets)
    }

    /// The attempts a message gets (`EVENTFN_ATTEMPTS`), when the function has dead letters.
    fn attempts(&self) -> Option<u32> {
        self.dead.as_ref().map(|d| d.attempts)
    }

    /// Delivers a message to every handler it goes to; fails if any of them does.
    async fn deliver(&self, message: Message, lambda_deadline: u64) -> Result<(), Failure> {
        let targets = match self.selection {
            Selection::One(entry) => {
                Self::check(entry, &message)?;
                return run(entry, message, lambda_deadline, self.attempts()).await;
            }
            Selection::All(entries) => self.targets(entries, &message)?,
            Selection::Delayed => unreachable!("delayed messages are forwarded, not delivered"),
        };
        if let [one] = targets.as_slice() {
            return run(one, message, lambda_deadline, self.attempts()).await;
        }
        let mut failures = Vec::new();
        for entry in targets {
            if let Err(failure) =
                run(entry, message.clone(), lambda_deadline, self.attempts()).await
            {
                failures.push(failure);
            }
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(Failure::new(
                failures[0].kind,
                failures
                    .iter()
                    .map(|f| f.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }

    /// Handles one invocation: `request_id` is Lambda's (the id of a direct invoke), `deadline`
    /// Lambda's, in milliseconds since the epoch (0: none). An SQS batch answers with its failed
    /// records; anything else fails as a whole.
    pub async fn dispatch(
        &self,
        incoming: Incoming,
        request_id: &str,
        deadline: u64,
    ) -> Result<Value, Failure> {
        let deadline = absolute_deadline_ms(deadline, now_ms());
        if let Selection::Delayed = self.selection {
            return forward(incoming, deadline).await;
        }
        match classify(incoming, request_id)? {
            Input::Single(messages) => {
                for message in messages {
                    self.deliver(message, deadline).await?;
                }
                Ok(Value::Null)
            }
            Input::Batch { records, fifo } => {
                let mut response = SqsBatchResponse::default();
                for (id, message) in records {
                    // A FIFO queue keeps its order: after a failure, the rest of the batch is
                    // returned untouched, to be delivered after the failed message.
                    let held_back = fifo && !response.batch_item_failures.is_empty();
                    let (result, kept) = match message {
                        _ if held_back => (Ok(()), None),
                        Ok(message) => {
                            // Kept, to go to the dead letters if it fails: on the last attempt,
                            // or on any with a failure that retrying cannot mend.
                            let kept = self.dead.as_ref().map(|d| (d, message.clone()));
                            (self.deliver(message, deadline).await, kept)
                        }
                        Err(failure) => (Err(failure), None),
                    };
                    if held_back {
                        report(&mut response, id, None);
                    } else if let Err(failure) = result {
                        let buried = match (kept, &self.selection) {
                            (Some((dead, message)), Selection::One(entry))
                                if message.attempt >= dead.attempts || failure.is_permanent() =>
                            {
                                bury(dead, entry, &message, &failure, deadline).await
                            }
                            _ => false,
                        };
                        if !buried {
                            report(&mut response, id, Some(&failure));
                        }
                    }
                }
                serde_json::to_value(response)
                    .map_err(|e| Failure::new(FailureKind::BadInput, e.to_string()))
            }
            Input::Schedule {
                id,
                source,
                time,
                event,
            } => {
                let message = Message {
                    id,
                    body: event,
                    name: None,
                    source,
                    schedule: true,
                    event: true,
                    time,
                    delay: 0,
                    attempt: 1,
                };
                self.deliver(message, deadline).await.map(|()| Value::Null)
            }
        }
    }
}

/// How long before Lambda's deadline a dead-letter send gives up, so that the invocation still
/// answers (with the record failed) rather than being ended with its whole batch: half the
/// margin a handler is stopped at, so a handler stopped by the deadline leaves the send 50 ms.
#[cfg(feature = "aws-base")]
const BURY_MARGIN_MS: u64 = DEADLINE_MARGIN.as_millis() as u64 / 2;

/// The longest a dead-letter send may take when Lambda gave no deadline.
#[cfg(feature = "aws-base")]
const BURY_MAX_MS: u64 = 10_000;

/// Sends `message`, failed on its last attempt, to the dead letters with why; `true` when they
/// took it. When they did not, or there is no time left before Lambda's `deadline` (ms since the
/// epoch, 0 for none) to try, the failure is reported and the queue's redrive moves it there on
/// its next receive, without the why.
async fn bury(
    dead: &DeadLetters,
    entry: &'static Entry,
    message: &Message,
    failure: &Failure,
    deadline: u64,
) -> bool {
    #[cfg(feature = "aws-base")]
    {
        let r = &entry.registration;
        let body = if message.schedule {
            // The EventBridge event it was, so that a replay reaches the handler as a firing.
            serde_json::json!({
                "source": "aws.events",
                "detail-type": "Scheduled Event",
                "id": message.id,
                "time": eventfn_core::dead::rfc3339(message.time),
                "resources": message.source.iter().collect::<Vec<_>>(),
                "detail": {},
            })
            .to_string()
        } else {
            message.body.clone()
        };
        let mut attributes = vec![
            (
                NAME_ATTRIBUTE,
                "String",
                message.name.clone().unwrap_or_else(|| r.name.clone()),
            ),
            (TIME_ATTRIBUTE, "Number", message.time.to_string()),
            (DELAY_ATTRIBUTE, "Number", message.delay.to_string()),
            (ATTEMPTS_ATTRIBUTE, "Number", message.attempt.to_string()),
            (HANDLER_ATTRIBUTE, "String", r.function.clone()),
        ];
        let error = shorten(&failure.message, &attributes);
        attributes.push((ERROR_ATTRIBUTE, "String", error));
        let group = dead.queue.ends_with(".fifo").then(|| r.name.clone());
        let left = bury_budget(deadline, now_ms());
        if left == 0 {
            tracing::error!(
                message_id = %excerpt(&message.id),
                "{failure}; no time is left to send it to the dead letters: the queue's redrive will"
            );
            return false;
        }
        let send = crate::aws_sdk::AwsBus::shared().send_dead_letter(
            &dead.queue,
            body,
            &attributes,
            group,
            &message.id,
        );
        let sent = tokio::time::timeout(Duration::from_millis(left), send)
            .await
            .unwrap_or_else(|_| {
                Err(crate::error::message(format!(
                    "no answer within {left} ms, before Lambda's deadline"
                )))
            });
        match sent {
            Ok(()) => {
                tracing::error!(
                    error_type = failure.kind.as_str(),
                    message_id = %excerpt(&message.id),
                    attempts = message.attempt,
                    "{failure}; sent to the dead letters"
                );
                return true;
            }
            Err(e) => tracing::error!(
                message_id = %excerpt(&message.id),
                "cannot send the message to the dead letters ({e}); the queue's redrive will"
            ),
        }
    }
    #[cfg(not(feature = "aws-base"))]
    let _ = (dead, entry, message, failure, deadline);
    false
}

/// The milliseconds left at `now` until `margin_ms` before Lambda's `deadline` (ms since the
/// epoch); `None` when there is no deadline (0), `Some(0)` when that time has come.
fn left_before(deadline: u64, now: u64, margin_ms: u64) -> Option<u64> {
    (deadline != 0).then(|| deadline.saturating_sub(now).saturating_sub(margin_ms))
}

/// How many milliseconds a dead-letter send may take at `now`, before Lambda's `deadline` (0:
/// none); 0 when there is no time for it.
#[cfg(feature = "aws-base")]
fn bury_budget(deadline: u64, now: u64) -> u64 {
    left_before(deadline, now, BURY_MARGIN_MS).map_or(BURY_MAX_MS, |left| left.min(BURY_MAX_MS))
}

/// Returns record `id` of an SQS batch to its queue, logging why when it failed (rather than
/// being held back behind a failure).
fn report(response: &mut SqsBatchResponse, id: String, failure: Option<&Failure>) {
    if let Some(failure) = failure {
        tracing::error!(
            error_type = failure.kind.as_str(),
            message_id = %excerpt(&id),
            "{failure}"
        );
    }
    let mut item = BatchItemFailure::default();
    item.item_identifier = id;
    response.batch_item_failures.push(item);
}

/// Sends on each delayed message of a batch from the delay queue (see [`eventfn_core::delay`]):
/// to its topic or queue when it is due, to wait again for what is left when it is early. A
/// message that cannot be read or sent is a failed record, retried by the delay queue and kept in
/// its dead-letter queue when that is spent.
///
/// It stops a little before Lambda's `deadline` (ms since the epoch, 0 for none): what there is
/// no time left for is reported failed and returned to the delay queue (a receive it counts),
/// rather than Lambda ending the invocation and its whole batch coming back (to be sent on
/// twice).
async fn forward(incoming: Incoming, deadline: u64) -> Result<Value, Failure> {
    let Incoming::Sqs(records) = incoming else {
        return Err(bad_input(
            "the function of delayed messages takes SQS batches from the stack's delay queue; \
             this invocation is not one",
        ));
    };
    let margin = DEADLINE_MARGIN.as_millis() as u64;
    let mut response = SqsBatchResponse::default();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(BadRecord { message_id, why }) => {
                report(&mut response, message_id, Some(&bad_input(why)));
                continue;
            }
        };
        let id = record.message_id.clone().unwrap_or_default();
        let out_of_time = || {
            Failure::new(
                FailureKind::Timeout,
                format!(
                    "delayed message {}: no time left before Lambda's deadline; it goes back \
                     to the delay queue, to be sent on after its visibility timeout",
                    excerpt(&id)
                ),
            )
        };
        let sent = match left_before(deadline, now_ms(), margin) {
            None => forward_one(&id, record.body.as_deref()).await,
            Some(0) => Err(out_of_time()),
            Some(left) => tokio::time::timeout(
                Duration::from_millis(left),
                forward_one(&id, record.body.as_deref()),
            )
            .await
            .unwrap_or_else(|_| Err(out_of_time())),
        };
        if let Err(failure) = sent {
            report(&mut response, id, Some(&failure));
        }
    }
    serde_json::to_value(response).map_err(|e| Failure::new(FailureKind::BadInput, e.to_string()))
}

async fn forward_one(id: &str, body: Option<&str>) -> Result<(), Failure> {
    let id = excerpt(id);
    let body = body.ok_or_else(|| bad_input(format!("delayed message {id} has no body")))?;
    let delayed: Delayed<&serde_json::value::RawValue> =
        serde_json::from_str(body).map_err(|e| {
            bad_input(format!(
                "message {id} of the delay queue is not a delayed message of eventfn ({}): {}",
                json_error(&e),
                excerpt(body)
            ))
        })?;
    let DelayedHeader {
        kind,
        name,
        time,
        delay,
    } = delayed.eventfn;
    if kind == Kind::Schedule {
        return Err(bad_input(format!(
            "message {id} of the delay queue is for schedule `{}`, and only events and queue \
             jobs are delayed",
            excerpt(&name)
        )));
    }
    // Checked as a publish checks it: the sends and their errors then deal with a name, not
    // with whatever the message holds.
    eventfn_core::validate_name(&name).map_err(|e| {
        bad_input(format!(
            "message {id} of the delay queue is for {} `{}`, which is not a name: {e}",
            kind.as_str(),
            excerpt(&name)
        ))
    })?;
    let message = crate::publish::Message {
        kind,
        name,
        body: delayed.payload.get().to_owned(),
        time,
        delay,
        // Events put on a bus are never delayed: EventBridge has no delay.
        entry: None,
    };
    let what = format!("{} `{}`", kind.as_str(), excerpt(&message.name));
    crate::publish::send(vec![message]).await.map_err(|e| {
        Failure::new(
            FailureKind::HandlerError,
            format!("cannot send on delayed {what} (message {id}): {e}"),
        )
    })
}

/// Runs one handler on one message, within its deadline, catching its panics, and writes the
/// attempt's line ([`eventfn_core::attempt`]) on stdout: `attempts` is how many the message gets
/// (`None`: the function has no dead letters), which tells a retry from a dead letter.
async fn run(
    entry: &'static Entry,
    message: Message,
    lambda_deadline: u64,
    attempts: Option<u32>,
) -> Result<(), Failure> {
    // A schedule takes no payload; a rule's handler reads the whole event (`Entry::invoke`).
    let body = if entry.registration.kind == Kind::Schedule {
        "null".to_owned()
    } else {
        message.body
    };
    let (id, attempt) = (message.id.clone(), message.attempt);
    let delivery = Delivery {
        id: message.id,
        time: message.time,
        delay: message.delay,
        attempt,
        deadline: deadline(entry.registration.options.timeout, lambda_deadline),
    };
    let (time, started) = (now_ms(), std::time::Instant::now());
    let result = call(entry, body, delivery, Naming::Message).await;
    let outcome = match &result {
        Ok(()) => attempt::Outcome::Ok,
        Err(failure) if failure.is_permanent() || attempts.is_some_and(|a| attempt >= a) => {
            attempt::Outcome::Dead
        }
        Err(_) => attempt::Outcome::Retry,
    };
    let line = attempt::Attempt {
        eventfn: attempt::ATTEMPT.to_owned(),
        time,
        kind: entry.registration.kind,
        name: entry.registration.name.clone(),
        handler: entry.registration.function.clone(),
        id,
        attempt,
        duration_us: started.elapsed().as_micros() as u64,
        outcome,
        error: result.as_ref().err().map(|f| f.message.clone()),
    };
    println!("{}", line.to_line());
    result
}

/// Lambda's deadline as milliseconds since the epoch, read at `now` (0: none). Lambda sends it
/// so; the `cargo lambda` emulator sends the time allowed (600000): a value before 2001 can
/// only be that.
fn absolute_deadline_ms(deadline: u64, now: u64) -> u64 {
    const EPOCH_2001_MS: u64 = 978_307_200_000;
    match deadline {
        0 => 0,
        ms if ms < EPOCH_2001_MS => now + ms,
        ms => ms,
    }
}

/// When the handler must be done: its own timeout if it declared one, and a little before
/// Lambda's deadline in any case.
fn deadline(timeout_secs: Option<u32>, lambda_deadline_ms: u64) -> Option<SystemTime> {
    let own = timeout_secs.map(|s| SystemTime::now() + Duration::from_secs(u64::from(s)));
    let lambda = match absolute_deadline_ms(lambda_deadline_ms, now_ms()) {
        0 => None,
        ms => Some(UNIX_EPOCH + Duration::from_millis(ms)),
    }
    .map(|d| d - DEADLINE_MARGIN);
    match (own, lambda) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

enum Input {
    /// SNS records or a direct invoke: the invocation fails if any message does.
    Single(Vec<Message>),
    /// An SQS batch: (messageId, message or why it could not be read).
    Batch {
        records: Vec<(String, Result<Message, Failure>)>,
        /// From a FIFO queue, whose order must hold.
        fifo: bool,
    },
    Schedule {
        id: String,
        /// The rule's or schedule's ARN.
        source: Option<String>,
        time: u64,
        /// The event, as JSON: for a rule on the default bus that takes schedules' events.
        event: String,
    },
}

fn bad_input(what: impl fmt::Display) -> Failure {
    Failure::new(FailureKind::BadInput, what.to_string())
}

fn classify(incoming: Incoming, request_id: &str) -> Result<Input, Failure> {
    match incoming {
        Incoming::Sns(records) => Ok(Input::Single(
            records.into_iter().map(|m| from_sns(m, 1)).collect(),
        )),
        Incoming::Sqs(records) => {
            let fifo = records.iter().flatten().any(|r| {
                r.event_source_arn
                    .as_deref()
                    .is_some_and(|arn| arn.ends_with(".fifo"))
            });
            Ok(Input::Batch {
                records: records.into_iter().map(sqs).collect(),
                fifo,
            })
        }
        Incoming::Schedule(event) => Ok(Input::Schedule {
            event: serde_json::to_string(&event).unwrap_or_else(|_| "null".to_owned()),
            id: event.id.unwrap_or_default(),
            source: event.resources.and_then(|r| r.into_iter().next()),
            time: event
                .time
                .map_or_else(now_ms, |t| t.timestamp_millis().max(0) as u64),
        }),
        Incoming::Direct(payload) => Ok(Input::Single(vec![Message {
            id: request_id.to_owned(),
            body: payload.to_string(),
            name: None,
            source: None,
            schedule: false,
            event: false,
            time: now_ms(),
            delay: 0,
            attempt: 1,
        }])),
        Incoming::Unreadable(why) => Err(bad_input(why)),
    }
}

fn sns_attribute<'a>(
    attributes: &'a HashMap<String, MessageAttribute>,
    key: &str,
) -> Option<&'a str> {
    attributes.get(key).map(|a| a.value.as_str())
}

fn from_sns(message: SnsMessage, attempt: u32) -> Message {
    let attrs = &message.message_attributes;
    let number = |key| sns_attribute(attrs, key).and_then(|v| v.parse::<u64>().ok());
    Message {
        name: sns_attribute(attrs, NAME_ATTRIBUTE).map(str::to_owned),
        source: Some(message.topic_arn).filter(|arn| !arn.is_empty()),
        schedule: false,
        event: false,
        time: number(TIME_ATTRIBUTE)
            .unwrap_or_else(|| message.timestamp.timestamp_millis().max(0) as u64),
        delay: number(DELAY_ATTRIBUTE).unwrap_or(0),
        id: message.message_id,
        body: message.message,
        attempt,
    }
}

/// One SQS record: its body, or the SNS notification its body wraps; or why it cannot be read.
fn sqs(record: Result<SqsMessage, BadRecord>) -> (String, Result<Message, Failure>) {
    let record = match record {
        Ok(record) => record,
        Err(BadRecord { message_id, why }) => return (message_id, Err(bad_input(why))),
    };
    let id = record.message_id.clone().unwrap_or_default();
    let attempt = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let Some(body) = record.body else {
        let failure = bad_input(format!("SQS message {} has no body", excerpt(&id)));
        return (id, Err(failure));
    };
    if let Some(envelope) = sns_envelope(&body) {
        return (id, Ok(from_sns(envelope, attempt)));
    }
    // What eventfn sent carries its name; only a body without one may be EventBridge's, so a
    // payload that happens to look like an EventBridge event stays a payload.
    let sent_by_eventfn = record.message_attributes.contains_key(NAME_ATTRIBUTE);
    if let Some(event) = eventbridge_event(&body).filter(|_| !sent_by_eventfn) {
        // A schedule's or a rule's rule sends to its handler's queue, which counts the attempts.
        let schedule = matches!(event.source.as_str(), "aws.events" | "aws.scheduler")
            && event.detail_type == "Scheduled Event";
        let message = Message {
            name: None,
            source: if schedule {
                event.resources.and_then(|r| r.into_iter().next())
            } else {
                record.event_source_arn.clone()
            },
            schedule,
            event: true,
            time: event
                .time
                .map_or_else(now_ms, |t| t.timestamp_millis().max(0) as u64),
            delay: 0,
            id: id.clone(),
            body,
            attempt,
        };
        return (id, Ok(message));
    }
    let attribute = |key: &str| {
        record
            .message_attributes
            .get(key)
            .and_then(|a| a.string_value.as_deref())
    };
    let number = |key| attribute(key).and_then(|v| v.parse::<u64>().ok());
    let sent = record
        .attributes
        .get("SentTimestamp")
        .and_then(|n| n.parse().ok());
    let message = Message {
        name: attribute(NAME_ATTRIBUTE).map(str::to_owned),
        source: record.event_source_arn.clone(),
        schedule: false,
        event: false,
        time: number(TIME_ATTRIBUTE).or(sent).unwrap_or_else(now_ms),
        delay: number(DELAY_ATTRIBUTE).unwrap_or(0),
        id: id.clone(),
        body,
        attempt,
    };
    (id, Ok(message))
}

/// The EventBridge event an SQS body holds when a rule (a schedule's or a `#[rule]`'s) or
/// Scheduler sends to a queue.
fn eventbridge_event(body: &str) -> Option<EventBridgeEvent> {
    // Cheap test first, as for SNS envelopes.
    if !body.trim_start().starts_with('{') || !body.contains("\"detail-type\"") {
        return None;
    }
    serde_json::from_str(body).ok()
}

/// The SNS notification an SQS body holds when SNS delivers to SQS without raw delivery.
fn sns_envelope(body: &str) -> Option<SnsMessage> {
    // Cheap test first: most bodies of a queue are the payload itself.
    if !body.trim_start().starts_with('{') || !body.contains("\"TopicArn\"") {
        return None;
    }
    let LenientSns(message) = serde_json::from_str(body).ok()?;
    message.filter(|m| m.sns_message_type == "Notification")
}

/// Serves `entries` on Lambda until the runtime stops.
pub(crate) async fn serve(entries: &'static [Entry]) -> crate::Result<()> {
    init_logging(&LogSettings::from_env(|var| std::env::var(var).ok()));
    let dispatcher = match select(entries, std::env::var(HANDLER_ENV).ok().as_deref()) {
        Ok(dispatcher) => dispatcher,
        Err(failure) => {
            report_init_error(&failure).await;
            return Err(crate::error::message(format!("eventfn: {failure}")));
        }
    };
    let dispatcher: &'static Dispatcher = Box::leak(Box::new(dispatcher));
    let bodies = Bodies::default();
    let handler = {
        let bodies = bodies.clone();
        lambda_runtime::service_fn(move |event: LambdaEvent<IgnoredAny>| {
            let body = bodies.take(&event.context.request_id);
            async move {
                let context = event.context;
                let incoming = match body {
                    Some(body) => Incoming::from_slice((*body).as_ref()),
                    None => Incoming::Unreadable(
                        "eventfn was not handed this invocation's body: the lambda_runtime it is \
                         built with hands it over otherwise than eventfn expects"
                            .to_owned(),
                    ),
                };
                dispatcher
                    .dispatch(incoming, &context.request_id, context.deadline)
                    .await
            }
        })
    };
    // As `lambda_runtime::run` builds it, with the body taken before the runtime reads it.
    lambda_runtime::Runtime::new(handler)
        .layer(RawBodyLayer(bodies))
        .layer(lambda_runtime::layers::TracingLayer::new())
        .run()
        .await
        .map_err(|e| crate::error::message(format!("eventfn: the Lambda runtime stopped: {e}")))
}

/// An invocation's body, as Lambda sent it.
type Body = Box<dyn AsRef<[u8]> + Send>;

/// Each invocation's body, handed from [`RawBody`] to the handler, tagged with its request id.
#[derive(Clone, Default)]
struct Bodies(Arc<Mutex<Option<(String, Body)>>>);

impl Bodies {
    fn put(&self, request_id: String, body: Body) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((request_id, body));
    }

    /// The body of request `request_id`, once.
    fn take(&self, request_id: &str) -> Option<Body> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.take() {
            Some((id, body)) if id == request_id => Some(body),
            _ => None,
        }
    }
}

/// What the runtime reads in place of the body, which eventfn reads itself.
const READ_BY_EVENTFN: &str = "\"(read by eventfn)\"";

/// Takes each invocation's body before `lambda_runtime` reads it, for eventfn to read: the
/// runtime answers a body its payload type cannot be read from with an error of its own
/// (`lambda_runtime::deserializer::DeserializeError`) without calling the handler, and reads an
/// empty or non-UTF-8 body as nothing at all. What it reads instead is [`READ_BY_EVENTFN`], into
/// [`IgnoredAny`]; the handler, which the runtime calls at once, within this call, takes the body
/// from [`Bodies`] by its request id.
struct RawBodyLayer(Bodies);

impl<S> Layer<S> for RawBodyLayer {
    type Service = RawBody<S>;

    fn layer(&self, inner: S) -> RawBody<S> {
        RawBody {
            inner,
            bodies: self.0.clone(),
        }
    }
}

/// The service of [`RawBodyLayer`].
struct RawBody<S> {
    inner: S,
    bodies: Bodies,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for RawBody<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> S::Future {
        let body = std::mem::replace(&mut invocation.body, READ_BY_EVENTFN.into());
        tracing::trace!(
            bytes = body.len(),
            body = %excerpt(&String::from_utf8_lossy(&body)),
            "the invocation's body, as Lambda sent it"
        );
        self.bodies
            .put(invocation.context.request_id.clone(), Box::new(body));
        self.inner.call(invocation)
    }
}

/// The environment variable that lets the AWS SDK's trace events, which print credentials, into
/// the log: `EVENTFN_LOG_SECRETS=1` (see [Logs](self#logs)).
pub const LOG_SECRETS_ENV: &str = "EVENTFN_LOG_SECRETS";

/// The targets whose trace events print credentials: `aws_smithy_runtime` logs each request it
/// sends and each response with their headers (`authorization`, `x-amz-security-token`), and
/// `aws_sigv4` the request it signs and the canonical request, which holds the session token.
/// Their debug events print no header (aws-smithy-runtime 1.10, aws-sigv4 1.3).
pub const SECRET_TARGETS: [&str; 2] = ["aws_smithy_runtime", "aws_sigv4"];

/// How the function logs, from its environment (see [Logs](self#logs)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    /// `AWS_LAMBDA_LOG_LEVEL`: the level logged when `RUST_LOG` has no directives (`INFO`
    /// without it).
    pub level: Option<String>,
    /// `RUST_LOG`: a level and levels per target (`info,my_app=debug`), the whole filter when
    /// there are any.
    pub directives: Option<String>,
    /// `AWS_LAMBDA_LOG_FORMAT=JSON`: a JSON object per line.
    pub json: bool,
    /// `EVENTFN_LOG_SECRETS=1`: the trace events of [`SECRET_TARGETS`] are logged too.
    pub secrets: bool,
}

impl LogSettings {
    /// From the environment, read by `lookup`.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> LogSettings {
        LogSettings {
            level: lookup("AWS_LAMBDA_LOG_LEVEL"),
            directives: lookup("RUST_LOG"),
            json: lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json")),
            secrets: lookup(LOG_SECRETS_ENV).as_deref() == Some("1"),
        }
    }

    /// The subscriber these settings make, writing to `writer`: `lambda_runtime`'s default one,
    /// without the trace events of [`SECRET_TARGETS`] unless [`LogSettings::secrets`].
    pub fn subscriber<W>(&self, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
    where
        W: for<'w> subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
    {
        use subscriber::filter::LevelFilter;
        use subscriber::layer::SubscriberExt;
        let level = self
            .level
            .as_deref()
            .and_then(|level| level.parse::<LevelFilter>().ok())
            .unwrap_or(LevelFilter::INFO);
        let (filter, _) =
            crate::log_filter::targets(self.directives.as_deref().unwrap_or_default(), level);
        let hide = HideSecrets(!self.secrets);
        // The builder's own filter lets through all: `filter` does the filtering.
        let fmt = subscriber::fmt()
            .with_max_level(LevelFilter::TRACE)
            .with_target(false)
            .without_time()
            .with_writer(writer);
        if self.json {
            Box::new(fmt.json().finish().with(filter).with(hide))
        } else {
            Box::new(fmt.finish().with(filter).with(hide))
        }
    }

    /// The directives of `RUST_LOG` left out of the filter, each with why (see `log_filter`).
    pub fn refused_directives(&self) -> Vec<String> {
        let directives = self.directives.as_deref().unwrap_or_default();
        crate::log_filter::targets(directives, subscriber::filter::LevelFilter::INFO).1
    }

    /// Whether trace events of [`SECRET_TARGETS`] are asked for and left out.
    fn hides_secrets(&self) -> bool {
        let asked = |text: &Option<String>| {
            text.as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().contains("trace"))
        };
        !self.secrets && (asked(&self.level) || asked(&self.directives))
    }
}

/// Leaves out the trace events of [`SECRET_TARGETS`] when on, whatever the filter beneath lets
/// through: a layer on top of the subscriber rather than directives of its filter, which a more
/// specific directive (`aws_smithy_runtime::client=trace`) or a span's (`[invoke]=trace`) would
/// override.
struct HideSecrets(bool);

impl HideSecrets {
    fn hides(&self, metadata: &tracing::Metadata<'_>) -> bool {
        self.0
            && *metadata.level() == tracing::Level::TRACE
            && SECRET_TARGETS.iter().any(|secret| {
                metadata
                    .target()
                    .strip_prefix(secret)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
    }
}

impl<S: tracing::Subscriber> subscriber::Layer<S> for HideSecrets {
    fn enabled(
        &self,
        metadata: &tracing::Metadata<'_>,
        _: subscriber::layer::Context<'_, S>,
    ) -> bool {
        !self.hides(metadata)
    }
}

/// Logs as `settings` say, unless the app installed a subscriber of its own.
fn init_logging(settings: &LogSettings) {
    if tracing::subscriber::set_global_default(settings.subscriber(std::io::stdout)).is_err() {
        return;
    }
    crate::log_filter::warn_refused(&settings.refused_directives());
    if settings.hides_secrets() {
        tracing::debug!(
            "the trace events of {} are left out of the log: they print credentials \
             (the `authorization` and `x-amz-security-token` headers, the canonical request); \
             {LOG_SECRETS_ENV}=1 lets them in",
            SECRET_TARGETS.join(" and ")
        );
    }
}

/// Tells Lambda why the function cannot start. `lambda_runtime` reports init errors only for
/// its own SnapStart hooks, so this posts to `/runtime/init/error` through its API client.
async fn report_init_error(failure: &Failure) {
    let diagnostic = Diagnostic::from(failure.clone());
    let result = async {
        let client = lambda_runtime_api_client::Client::builder().build()?;
        let body = serde_json::to_vec(&diagnostic)?;
        let request = lambda_runtime_api_client::build_request()
            .method("POST")
            .uri("/2018-06-01/runtime/init/error")
            .header("lambda-runtime-function-error-type", "Runtime.InitError")
            .body(lambda_runtime_api_client::body::Body::from(body))?;
        client.call(request).await?;
        Ok::<(), lambda_runtime_api_client::BoxError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::error!("could not report the init error to the Lambda Runtime API: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a subscriber of `settings` writes while `emit` runs.
    fn logged(settings: &LogSettings, emit: impl FnOnce()) -> String {
        let out = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = out.clone();
        let subscriber = settings.subscriber(move || Sink(sink.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(out.lock().unwrap().clone()).unwrap()
    }

    /// Events as the AWS SDK logs them (aws-smithy-runtime 1.10, aws-sigv4 1.3), and others.
    fn sdk_events() {
        tracing::trace!(
            target: "aws_smithy_runtime::client::orchestrator",
            "transmitting request x-amz-security-token: TOKEN-1"
        );
        tracing::trace!(
            target: "aws_sigv4::http_request::sign",
            "calculated signing parameters x-amz-security-token:TOKEN-2"
        );
        tracing::trace!(target: "aws_smithy_runtime", "TOKEN-3");
        tracing::debug!(
            target: "aws_smithy_runtime::client::orchestrator",
            "kept: the SDK's debug"
        );
        tracing::trace!(target: "aws_smithy_runtime_api::client", "kept: another crate");
        tracing::trace!(target: "my_app", "kept: the app's trace");
    }

    #[test]
    fn the_sdks_trace_events_are_left_out_unless_asked_for() {
        let settings = |rust_log: &str, secrets: &str| {
            let (rust_log, secrets) = (rust_log.to_owned(), secrets.to_owned());
            LogSettings::from_env(move |var| match var {
                "RUST_LOG" => Some(rust_log.clone()),
                LOG_SECRETS_ENV => Some(secrets.clone()),
                _ => None,
            })
        };
        // However the directives ask for them: the global level, the targets named, a span.
        for rust_log in [
            "trace",
            "aws_smithy_runtime=trace,aws_sigv4=trace,my_app=trace,aws_smithy_runtime_api=trace",
            "aws_smithy_runtime::client::orchestrator=trace,aws_sigv4::http_request=trace,\
             my_app=trace,aws_smithy_runtime_api=trace",
            "[lambda]=trace,my_app=trace,aws_smithy_runtime_api=trace",
        ] {
            for secrets in ["", "0", "true"] {
                let log = logged(&settings(rust_log, secrets), || {
                    tracing::info_span!("lambda").in_scope(sdk_events)
                });
                assert!(!log.contains("TOKEN"), "{rust_log}, {secrets}: {log}");
                assert!(log.contains("kept: the app's trace"), "{log}");
                assert!(log.contains("kept: another crate"), "{log}");
                if rust_log == "trace" {
                    assert!(log.contains("kept: the SDK's debug"), "{log}");
                }
            }
        }
        let open = logged(&settings("trace", "1"), sdk_events);
        for token in ["TOKEN-1", "TOKEN-2", "TOKEN-3"] {
            assert!(open.contains(token), "{open}");
        }
        assert!(settings("trace", "").hides_secrets());
        assert!(!settings("trace", "1").hides_secrets());
        assert!(!settings("info", "").hides_secrets());
    }

    #[test]
    fn log_settings_read_lambdas_controls_as_lambda_runtime_does() {
        let env = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            LogSettings::from_env(move |var| vars.get(var).cloned())
        };
        assert_eq!(env(&[]), LogSettings::default());
        let level = env(&[
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("AWS_LAMBDA_LOG_FORMAT", "json"),
        ]);
        assert_eq!(level.level.as_deref(), Some("WARN"));
        assert!(level.json && !level.secrets);
        let json = logged(&level, || {
            tracing::warn!("a warning");
            tracing::info!("left out");
        });
        assert!(
            json.starts_with('{') && json.contains("a warning"),
            "{json}"
        );
        assert!(!json.contains("left out"), "{json}");
        // RUST_LOG's directives, when it has some, are the whole filter.
        let both = env(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "info")]);
        assert_eq!(both.directives.as_deref(), Some("info"));
        let text = logged(&both, || tracing::info!("an info"));
        assert!(
            text.contains(" INFO ") && text.contains("an info"),
            "{text}"
        );
    }

    #[test]
    fn a_body_is_taken_once_by_its_own_request() {
        let bodies = Bodies::default();
        bodies.put("r-1".into(), Box::new(b"{}".to_vec()));
        assert!(bodies.take("r-2").is_none(), "another request's body");
        assert!(
            bodies.take("r-1").is_none(),
            "taken already, though by the wrong request"
        );
        bodies.put("r-3".into(), Box::new(b"\xFF".to_vec()));
        let body = bodies.take("r-3").unwrap();
        assert_eq!((*body).as_ref(), b"\xFF");
        assert!(bodies.take("r-3").is_none());
    }

    #[test]
    fn the_emulators_time_allowed_reads_as_a_deadline() {
        let now = 1_795_514_400_000;
        assert_eq!(absolute_deadline_ms(0, now), 0);
        assert_eq!(absolute_deadline_ms(600_000, now), now + 600_000);
        assert_eq!(absolute_deadline_ms(now + 3_000, now), now + 3_000);
    }

    #[test]
    fn the_time_left_counts_down_to_a_margin_before_the_deadline() {
        let now = 1_795_514_400_000;
        assert_eq!(left_before(0, now, 100), None);
        assert_eq!(left_before(now + 1_000, now, 100), Some(900));
        assert_eq!(left_before(now + 100, now, 100), Some(0));
        assert_eq!(left_before(now - 5, now, 100), Some(0));
    }

    #[cfg(feature = "aws-base")]
    #[test]
    fn a_dead_letter_send_ends_before_lambdas_deadline() {
        let now = 1_000_000;
        assert_eq!(bury_budget(0, now), BURY_MAX_MS);
        assert_eq!(bury_budget(now + 60_000, now), BURY_MAX_MS);
        // A handler stopped by the deadline leaves 100 ms: the send gets half.
        assert_eq!(bury_budget(now + 100, now), 50);
        assert_eq!(bury_budget(now + 50, now), 0);
        assert_eq!(bury_budget(now - 1, now), 0);
    }

    #[test]
    fn dead_letters_need_a_number_of_attempts() {
        let env = |queue: Option<&str>, attempts: Option<&str>| {
            let (queue, attempts) = (queue.map(str::to_owned), attempts.map(str::to_owned));
            DeadLetters::from_env(move |var| match var {
                DEAD_LETTERS_ENV => queue.clone(),
                ATTEMPTS_ENV => attempts.clone(),
                _ => None,
            })
        };
        assert_eq!(env(None, Some("3")), Ok(None));
        assert_eq!(env(Some(""), None), Ok(None));
        assert_eq!(
            env(Some("https://sqs/dead"), Some("3")),
            Ok(Some(DeadLetters {
                queue: "https://sqs/dead".into(),
                attempts: 3
            }))
        );
        for bad in [None, Some("none"), Some("0"), Some("-1")] {
            let failure = env(Some("https://sqs/dead"), bad).unwrap_err();
            assert_eq!(failure.kind, FailureKind::Init);
            assert!(
                failure.message.starts_with(&format!(
                    "EVENTFN_ATTEMPTS is `{}`: with EVENTFN_DEAD_LETTERS set, it must be the number",
                    bad.unwrap_or_default()
                )),
                "{}",
                failure.message
            );
        }
    }
}
