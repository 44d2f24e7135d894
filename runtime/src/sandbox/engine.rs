//! The sandbox's engine: accepts messages into the store, hands due deliveries to their handlers'
//! workers, records what became of each attempt, retries with backoff and turns what is spent
//! into dead letters.
//!
//! - One thread owns the store. Whatever is waiting when it wakes (publishes, outcomes,
//!   replays, reads) runs in one transaction, and a publish is answered only once that is
//!   committed: many publishes in flight cost one write of the log, and none is acknowledged
//!   before it would survive the sandbox being killed.
//! - The dispatcher keeps pending deliveries in a heap by due time and hands what is due to the
//!   handler's workers: one delivery at a time for events and schedules, up to `batch_size` at
//!   a time for queues. Each handler has its own workers (its `concurrency`, else
//!   [`DEFAULT_WORKERS`]; one for a FIFO queue, which keeps its order), so a slow handler never
//!   holds up another.
//! - An attempt runs as on Lambda ([`crate::lambda`]): within the handler's timeout, panics
//!   caught. A failure is retried after 1, 2, 4, ... times the first retry delay (at most five
//!   minutes) while the handler's `retries` allow, then it is a dead letter; one that no attempt
//!   can mend (an unreadable payload, [`crate::permanent`]) is a dead letter at once. Each
//!   subscriber of an event has its own delivery, so a failure never re-runs a sibling.
//! - Each attempt is kept in the store as it starts and as it ends, in the transactions that
//!   count it and record its outcome. A publish from a handler records the delivery whose
//!   attempt made it: the attempt runs in a tokio task-local scope that [`LocalBus`] reads (a
//!   publish from a task the handler spawned is outside it, and records none).
//! - What changed is told, once committed, to whoever follows the sandbox ([`Engine::follow`]:
//!   the dashboard's live list), by the store's thread, in the order it happened.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as sync_mpsc;
use std::time::{Duration, Instant, SystemTime};

use eventfn_core::Kind;
use eventfn_core::attempt;
use eventfn_core::options::Defaults;
use eventfn_core::sandbox::{Counted, HandlerInfo};
use hyper::body::Bytes;
use tokio::sync::{Mutex, broadcast, mpsc, oneshot};

use super::clock::Clock;
use super::journal::{Begun, Journal};
use super::log::{self, Log, capture};
use super::store::{self, Filter, NewEvent, Outcome, Store};
use crate::publish::{Bus, Message};
use crate::registry::{Entry, Payload};
use crate::{Delivery, Result};

/// Workers per handler that does not set `concurrency`.
pub const DEFAULT_WORKERS: usize = 64;

/// The longest wait between two attempts.
const MAX_RETRY_DELAY_MS: u64 = 5 * 60 * 1000;

/// The longest delay a message may ask for: a year, as Ampt allows (366 days, for leap years).
const MAX_DELAY_MS: u64 = 366 * 24 * 3600 * 1000;

/// The most characters of a failed attempt's error that the sandbox keeps and shows: a
/// handler's error may quote its whole input, and a line of megabytes in the log and the store
/// helps no one.
const MAX_ERROR_CHARS: usize = 4096;

/// How many changes a follower may fall behind by before it is told it missed some.
const FOLLOW_BACKLOG: usize = 4096;

/// How many commands the store's thread takes into one transaction at most.
const MAX_GROUP: usize = 4096;

/// Why the sandbox did not accept something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The request is wrong: its message says how.
    Invalid(String),
    /// What the request names is not there: its message says what and how to find what is.
    NotFound(String),
    /// The store failed.
    Store(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Invalid(why) | Refusal::NotFound(why) | Refusal::Store(why) => {
                f.write_str(why)
            }
        }
    }
}

tokio::task_local! {
    /// The delivery whose attempt runs on this task: the publisher that [`LocalBus`] records
    /// for what its handler publishes.
    static RUNNING: i64;
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The store's file.
    pub store: std::path::PathBuf,
    /// Options for handlers that leave them out.
    pub defaults: Defaults,
    /// The wait before the first retry, in milliseconds; each later one waits twice as long.
    pub retry_delay_ms: u64,
}

struct Handler {
    entry: &'static Entry,
    /// As the app's manifest has it, with the app's defaults: its options, and a schedule's
    /// time zone, its own or the app's (`None`: UTC).
    manifest: eventfn_core::Handler,
    ready: mpsc::UnboundedSender<Vec<store::Delivery>>,
    /// When a schedule fires next, in milliseconds since the Unix epoch; 0: not known (its
    /// clock is not started, or it fires no more).
    next: AtomicU64,
}

/// A message accepted, to be stored with its handlers.
struct Accepted {
    kind: Kind,
    name: String,
    body: String,
    time: u64,
    delay: u64,
    handlers: Vec<&'static str>,
    filtered: Vec<&'static str>,
    published_by: Option<i64>,
}

type Reply<T> = oneshot::Sender<std::result::Result<T, String>>;

enum Command {
    Publish {
        events: Vec<Accepted>,
        reply: Reply<Vec<i64>>,
    },
    /// Attempt `attempt` of delivery `id` began (it is in the journal already).
    Start {
        id: i64,
        attempt: u32,
    },
    Finish {
        id: i64,
        attempt: u32,
        /// When the attempt began, in milliseconds since the epoch; none when no attempt ran.
        started: Option<u64>,
        duration_us: Option<u64>,
        outcome: Outcome,
        /// What the handler wrote through `tracing` during the attempt.
        log: Option<String>,
    },
    Replay {
        id: i64,
        /// The store's failure outside, the reason it is not replayed inside.
        reply: Reply<std::result::Result<store::Delivery, String>>,
    },
    List {
        filter: Filter,
        limit: usize,
        reply: Reply<Vec<store::Delivery>>,
    },
    Detail {
        id: i64,
        reply: Reply<Option<store::Detail>>,
    },
    Resume {
        reply: Reply<usize>,
    },
    ReplayAll {
        reply: Reply<Vec<store::Delivery>>,
    },
    Purge {
        id: Option<i64>,
        /// The store's failure outside, the reason nothing was purged inside.
        reply: Reply<std::result::Result<u64, String>>,
    },
    Counts {
        reply: Reply<Vec<(String, u64, u64)>>,
    },
}

/// The running sandbox.
pub struct Engine {
    handlers: Vec<Handler>,
    by_function: HashMap<&'static str, usize>,
    store: sync_mpsc::Sender<Command>,
    /// Into the dispatcher's heap.
    schedule: mpsc::UnboundedSender<store::Delivery>,
    /// Where an attempt is counted before its handler runs.
    journal: Arc<Journal>,
    retry_delay_ms: u64,
    log: Log,
    /// What changed, as server-sent events, for [`Engine::follow`].
    feed: broadcast::Sender<Bytes>,
    /// Opened by [`Engine::deliver`]: until then the dispatcher holds what comes due.
    open: tokio::sync::Notify,
}

pub(crate) use crate::dispatch::now_ms;

impl Engine {
    /// Opens the store and starts the store's thread, the dispatcher and every handler's
    /// workers; then queues what the store holds pending (from before a restart), and says how
    /// many. Nothing is delivered until [`Engine::deliver`] is called: a handler that takes the
    /// process down must not do so before the sandbox has said where it listens. Must be called
    /// within a tokio runtime.
    pub async fn start(
        entries: &'static [Entry],
        settings: Settings,
        log: Log,
    ) -> std::result::Result<(Arc<Engine>, usize), String> {
        let mut store = Store::open(&settings.store)?;
        // The attempts that began before the sandbox last stopped, which the store may lack.
        let (journal, begun) = Journal::open(&journal_path(&settings.store))?;
        store.count_begun(&begun)?;
        let journal = Arc::new(journal);
        journal.committed(0);
        let (schedule, incoming) = mpsc::unbounded_channel();
        let (commands, inbox) = sync_mpsc::channel();
        let dispatch = schedule.clone();
        let committed = journal.clone();
        let (feed, _) = broadcast::channel(FOLLOW_BACKLOG);
        let told = feed.clone();
        std::thread::Builder::new()
            .name("eventfn-store".into())
            .spawn(move || store_thread(store, inbox, dispatch, &committed, log, &told))
            .map_err(|e| format!("cannot start the sandbox's store thread: {e}"))?;
        let mut handlers = Vec::with_capacity(entries.len());
        let mut workers = Vec::with_capacity(entries.len());
        for entry in entries {
            let resolved = entry.registration.resolve(&settings.defaults);
            let count = if resolved.options.fifo == Some(true) {
                1
            } else {
                resolved
                    .options
                    .concurrency
                    .map_or(DEFAULT_WORKERS, |c| c as usize)
            };
            // Checked now, so that a filter it cannot read stops the sandbox at its start.
            entry.filter().map_err(|e| e.to_string())?;
            let (ready, queue) = mpsc::unbounded_channel();
            workers.push((count, Arc::new(Mutex::new(queue))));
            handlers.push(Handler {
                entry,
                manifest: resolved,
                ready,
                next: AtomicU64::new(0),
            });
        }
        let by_function = handlers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.entry.registration.function.as_str(), i))
            .collect();
        let engine = Arc::new(Engine {
            handlers,
            by_function,
            store: commands,
            schedule,
            journal,
            retry_delay_ms: settings.retry_delay_ms.max(1),
            log,
            feed,
            open: tokio::sync::Notify::new(),
        });
        for (index, (count, queue)) in workers.into_iter().enumerate() {
            for _ in 0..count {
                tokio::spawn(work(engine.clone(), index, queue.clone()));
            }
        }
        tokio::spawn(dispatch_loop(engine.clone(), incoming));
        let resumed = engine.ask(|reply| Command::Resume { reply }).await?;
        Ok((engine, resumed))
    }

    /// Lets the dispatcher hand out what is due: the deliveries resumed from the store first.
    pub fn deliver(&self) {
        self.open.notify_one();
    }

    /// Sends a command to the store's thread and waits for its answer.
    async fn ask<T>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> std::result::Result<T, String> {
        let (reply, answer) = oneshot::channel();
        self.store
            .send(command(reply))
            .map_err(|_| "the sandbox's store has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the sandbox's store has stopped".to_owned())?
    }

    /// The handlers a message of `kind` named `name` goes to: for an event put on a bus
    /// ([`Kind::Rule`], `name` the bus), the rules on that bus.
    fn subscribers(&self, kind: Kind, name: &str) -> std::result::Result<Vec<&Handler>, Refusal> {
        let found: Vec<&Handler> = self
            .handlers
            .iter()
            .filter(|h| h.entry.registration.takes(kind, name))
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
        Err(Refusal::Invalid(crate::registry::unknown_name(
            self.handlers.iter().map(|h| &h.entry.registration),
            kind,
            name,
        )))
    }

    /// Stores messages, all or none, and delivers them when due; returns their events' ids once
    /// they are on disk.
    pub async fn accept(&self, messages: Vec<Message>) -> std::result::Result<Vec<i64>, Refusal> {
        self.accept_from(messages, None).await
    }

    /// [`Engine::accept`], for messages that the handler of delivery `published_by` published.
    pub async fn accept_from(
        &self,
        messages: Vec<Message>,
        published_by: Option<i64>,
    ) -> std::result::Result<Vec<i64>, Refusal> {
        let mut events = Vec::with_capacity(messages.len());
        for message in messages {
            if message.delay > MAX_DELAY_MS {
                return Err(Refusal::Invalid(format!(
                    "cannot send to {} `{}`: a delay of {} ms is more than a year",
                    message.kind.as_str(),
                    message.name,
                    message.delay
                )));
            }
            let subscribers = self.subscribers(message.kind, &message.name)?;
            // An event put on a bus is stored, matched and delivered as EventBridge writes it.
            let mut message = message;
            if message.kind == Kind::Rule {
                message.body = crate::bus_event::event_json(&message);
            }
            // Payloads that a handler's filter (or pattern) does not match are recorded, not
            // delivered.
            let payload = Payload::new(&message.body);
            let (mut handlers, mut filtered) = (Vec::new(), Vec::new());
            for handler in subscribers {
                let function = handler.entry.registration.function.as_str();
                if handler
                    .entry
                    .accepts(&payload)
                    .map_err(|e| Refusal::Invalid(e.to_string()))?
                {
                    handlers.push(function);
                } else {
                    filtered.push(function);
                }
            }
            events.push(Accepted {
                kind: message.kind,
                name: message.name,
                body: message.body,
                time: message.time,
                delay: message.delay,
                handlers,
                filtered,
                published_by,
            });
        }
        let filtered: Vec<(Kind, String, Vec<&'static str>)> = events
            .iter()
            .map(|e| (e.kind, e.name.clone(), e.filtered.clone()))
            .collect();
        let ids = self
            .ask(|reply| Command::Publish { events, reply })
            .await
            .map_err(Refusal::Store)?;
        for ((kind, name, handlers), id) in filtered.iter().zip(&ids) {
            for handler in handlers {
                let line = match kind {
                    Kind::Rule => format!(
                        "bus `{name}` (event {id}) → {handler}: the event does not match its pattern"
                    ),
                    _ => format!(
                        "event `{name}` (event {id}) → {handler}: the payload does not match its filter"
                    ),
                };
                self.log.status("Filtered", &line);
            }
        }
        Ok(ids)
    }

    /// Fires schedule `name` now.
    pub async fn trigger(&self, name: &str) -> std::result::Result<i64, Refusal> {
        self.trigger_at(name, now_ms()).await
    }

    /// The time zone of the schedule whose handler is `function`, when it has one.
    pub fn timezone_of(&self, function: &str) -> Option<String> {
        let index = *self.by_function.get(function)?;
        self.handlers[index].manifest.timezone.clone()
    }

    /// Fires schedule `name` as due at `time` (milliseconds since the Unix epoch): its
    /// `Context::time`.
    pub async fn trigger_at(&self, name: &str, time: u64) -> std::result::Result<i64, Refusal> {
        let message = Message {
            kind: Kind::Schedule,
            name: name.to_owned(),
            body: "null".to_owned(),
            time,
            delay: 0,
            entry: None,
        };
        Ok(self.accept(vec![message]).await?[0])
    }

    /// Makes dead letter `id` pending again and delivers it.
    pub async fn replay(&self, id: i64) -> std::result::Result<store::Delivery, Refusal> {
        self.ask(|reply| Command::Replay { id, reply })
            .await
            .map_err(Refusal::Store)?
            .map_err(Refusal::Invalid)
    }

    /// Recent deliveries, newest first.
    pub async fn list(
        &self,
        filter: Filter,
        limit: usize,
    ) -> std::result::Result<Vec<store::Delivery>, Refusal> {
        self.ask(|reply| Command::List {
            filter,
            limit,
            reply,
        })
        .await
        .map_err(Refusal::Store)
    }

    /// Makes every dead letter pending again and delivers them; returns how many.
    pub async fn replay_all(&self) -> std::result::Result<u64, Refusal> {
        self.ask(|reply| Command::ReplayAll { reply })
            .await
            .map(|replayed| replayed.len() as u64)
            .map_err(Refusal::Store)
    }

    /// Removes dead letter `id`, or every dead letter, for good; returns how many.
    pub async fn purge(&self, id: Option<i64>) -> std::result::Result<u64, Refusal> {
        let purged = self
            .ask(|reply| Command::Purge { id, reply })
            .await
            .map_err(Refusal::Store)?;
        match (purged, id) {
            (Ok(count), _) => Ok(count),
            (Err(why), Some(id)) if why == store::no_delivery(id) => Err(Refusal::NotFound(why)),
            (Err(why), _) => Err(Refusal::Invalid(why)),
        }
    }

    /// Per handler (its Rust path), its pending deliveries and its dead letters.
    pub async fn counts(&self) -> std::result::Result<HashMap<String, (u64, u64)>, Refusal> {
        let rows = self
            .ask(|reply| Command::Counts { reply })
            .await
            .map_err(Refusal::Store)?;
        let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
        for (handler, pending, dead) in rows {
            let count = counts.entry(handler).or_default();
            count.0 += pending;
            count.1 += dead;
        }
        Ok(counts)
    }

    /// When the schedule whose handler is `function` fires next, if its clock runs and it
    /// fires again.
    pub fn next_firing(&self, function: &str) -> Option<u64> {
        let index = *self.by_function.get(function)?;
        match self.handlers[index].next.load(Ordering::Relaxed) {
            0 => None,
            at => Some(at),
        }
    }

    /// What changes from now on, as server-sent events (each a whole `event:`/`data:` block):
    /// `delivery` with a delivery as listed, without its payload, whenever one is stored or
    /// attempted or changes state; `purged` with how many dead letters were removed; and
    /// `lagged` when the follower fell so far behind that it missed some (it should list
    /// again).
    pub fn follow(&self) -> broadcast::Receiver<Bytes> {
        self.feed.subscribe()
    }

    /// The live log.
    pub fn log(&self) -> Log {
        self.log
    }

    /// Delivery `id` in full: its payload, attempts, and what its handler published.
    pub async fn detail(&self, id: i64) -> std::result::Result<store::Detail, Refusal> {
        self.ask(|reply| Command::Detail { id, reply })
            .await
            .map_err(Refusal::Store)?
            .ok_or_else(|| Refusal::NotFound(store::no_delivery(id)))
    }

    /// Every handler as `GET /v1/app` shows it, in link order: what does not change while the
    /// sandbox runs (its counts are left at 0, its next firing out).
    pub fn describe(&self) -> Vec<HandlerInfo> {
        self.handlers
            .iter()
            .map(|h| {
                let r = &h.entry.registration;
                HandlerInfo {
                    kind: r.kind,
                    name: r.name.clone(),
                    function: r.function.clone(),
                    manifest: Some(h.manifest.clone()),
                    next: None,
                    pending: 0,
                    dead: 0,
                }
            })
            .collect()
    }

    /// Starts the clock of every schedule: each fires at its times until the sandbox stops.
    pub fn start_schedules(self: &Arc<Engine>) -> std::result::Result<(), String> {
        for handler in &self.handlers {
            let registration = &handler.entry.registration;
            let Some(expression) = &registration.schedule else {
                continue;
            };
            let clock = Clock::new(expression, handler.manifest.timezone.as_deref())
                .map_err(|e| format!("schedule `{}`: {e}", registration.name))?;
            tokio::spawn(tick(
                self.clone(),
                self.by_function[registration.function.as_str()],
                handler.manifest.timezone.clone(),
                clock,
            ));
        }
        Ok(())
    }

    /// Hands due deliveries to their handlers' workers: queues in batches of their
    /// `batch_size`, in the order they were published.
    fn hand_out(&self, due: Vec<store::Delivery>) {
        let mut by_handler: HashMap<usize, Vec<store::Delivery>> = HashMap::new();
        for delivery in due {
            match self.by_function.get(delivery.handler.as_str()) {
                Some(&index) => by_handler.entry(index).or_default().push(delivery),
                None => self.orphan(delivery),
            }
        }
        for (index, mut deliveries) in by_handler {
            let handler = &self.handlers[index];
            let size = handler.manifest.options.batch_size.unwrap_or(1).max(1) as usize;
            deliveries.sort_by_key(|d| d.id);
            let mut rest = deliveries.into_iter().peekable();
            while rest.peek().is_some() {
                let batch: Vec<store::Delivery> = rest.by_ref().take(size).collect();
                // The workers stop only with the runtime.
                let _ = handler.ready.send(batch);
            }
        }
    }

    /// A delivery to a handler the app no longer has (it changed since the delivery was
    /// stored): a dead letter, to replay once the handler is back.
    fn orphan(&self, delivery: store::Delivery) {
        let error = format!(
            "the app has no handler `{}` any more (it was stored for one before a restart)",
            delivery.handler
        );
        self.log.warn(&format!(
            "delivery {} of {} `{}`: {error}",
            delivery.id,
            delivery.kind.as_str(),
            delivery.name
        ));
        let _ = self.store.send(Command::Finish {
            id: delivery.id,
            attempt: delivery.attempts,
            started: None,
            duration_us: None,
            outcome: Outcome::Dead { error },
            log: None,
        });
    }

    /// Makes one attempt at a delivery; returns it, with its new due time, if it failed and is
    /// to be retried. The attempt is counted before the handler runs, so a handler that takes
    /// the process down still spends its attempts and ends as a dead letter.
    async fn attempt(
        &self,
        handler: &Handler,
        mut delivery: store::Delivery,
    ) -> Option<store::Delivery> {
        let (id, attempt) = (delivery.id, delivery.attempts + 1);
        let registration = &handler.entry.registration;
        if attempt > handler.manifest.options.retries + 1 {
            // Its last attempt was started before the sandbox stopped, and never finished.
            let error = format!(
                "{} `{}`, handler `{}` (event {}, delivery {}): the sandbox stopped during \
                 attempt {} of {}, its last",
                registration.kind.as_str(),
                registration.name,
                registration.function,
                delivery.event,
                delivery.id,
                delivery.attempts,
                handler.manifest.options.retries + 1
            );
            self.log.warn(&error);
            let _ = self.store.send(Command::Finish {
                id: delivery.id,
                attempt: delivery.attempts,
                started: None,
                duration_us: None,
                outcome: Outcome::Dead { error },
                log: None,
            });
            return None;
        }
        // Counted on disk before the handler runs: a handler that takes the process down (an
        // abort, a stack overflow, the OOM killer) has spent this attempt when the sandbox
        // starts again, as an SQS receive counts on AWS.
        let begun = Begun {
            id,
            attempt,
            due: delivery.due,
        };
        if let Err(error) = self.journal.begin(begun) {
            // Not counted, so not run: it stays pending, and is tried again after a wait.
            self.log.warn(&format!(
                "delivery {id}: attempt {attempt} could not be recorded, so it did not start \
                 ({error}); trying again in {} ms",
                self.retry_delay_ms
            ));
            delivery.due = now_ms() + self.retry_delay_ms;
            return Some(delivery);
        }
        let started_at = now_ms();
        let _ = self.store.send(Command::Start { id, attempt });
        let clock = Instant::now();
        let timeout = Duration::from_secs(u64::from(handler.manifest.options.timeout));
        let context = Delivery {
            id: delivery.event.to_string(),
            time: delivery.time,
            delay: delivery.delay,
            attempt,
            deadline: Some(SystemTime::now() + timeout),
        };
        let body = std::mem::take(&mut delivery.body);
        // The body goes back into the delivery for a retry: handlers get their own copy.
        let naming = crate::dispatch::Naming::Sandbox { delivery: id };
        let call = crate::dispatch::call(handler.entry, body.clone(), context, naming);
        let (result, captured) = capture(RUNNING.scope(id, call)).await;
        delivery.body = body;
        let duration = clock.elapsed();
        let finished = now_ms();
        // A failure no attempt can mend (an unreadable payload, `eventfn::permanent`) is dead at
        // once, as on AWS.
        let retry = |failure: &crate::dispatch::Failure| {
            attempt <= handler.manifest.options.retries && !failure.is_permanent()
        };
        let outcome = match result.map_err(|failure| (retry(&failure), kept(failure.message))) {
            Ok(()) => Outcome::Done,
            Err((true, error)) => {
                let wait = self
                    .retry_delay_ms
                    .saturating_mul(1 << (attempt - 1).min(20))
                    .min(MAX_RETRY_DELAY_MS);
                Outcome::Retry {
                    due: finished + wait,
                    error,
                }
            }
            Err((false, error)) => Outcome::Dead { error },
        };
        let (shown, error) = match &outcome {
            Outcome::Done => (attempt::Shown::Ok, None),
            Outcome::Retry { due, error } => (
                attempt::Shown::Retry(Some(due - finished)),
                Some(error.as_str()),
            ),
            Outcome::Dead { error } => (attempt::Shown::Dead, Some(error.as_str())),
        };
        let ids = format!("event {}, delivery {}", delivery.event, delivery.id);
        self.log.delivery(
            &attempt::View {
                clock: &log::clock(started_at),
                kind: registration.kind.as_str(),
                name: &registration.name,
                handler: &registration.function,
                ids: &ids,
                attempt,
                duration_us: duration.as_micros() as u64,
                outcome: shown,
                error,
            },
            &captured,
        );
        let retry = match &outcome {
            Outcome::Retry { due, error } => {
                delivery.attempts = attempt;
                delivery.due = *due;
                delivery.error = Some(error.clone());
                Some(delivery)
            }
            Outcome::Done | Outcome::Dead { .. } => None,
        };
        // Recorded before the retry is scheduled: the store sees the outcomes of one delivery in
        // the order they happened.
        let _ = self.store.send(Command::Finish {
            id,
            attempt,
            started: Some(started_at),
            duration_us: Some(duration.as_micros() as u64),
            outcome,
            log: kept_log(&captured),
        });
        retry
    }
}

/// What the store keeps of an attempt's `tracing` output: nothing when there is none, else its
/// last [`MAX_ATTEMPT_LOG_BYTES`] from the start of a line.
///
/// [`MAX_ATTEMPT_LOG_BYTES`]: eventfn_core::sandbox::MAX_ATTEMPT_LOG_BYTES
fn kept_log(captured: &[u8]) -> Option<String> {
    use eventfn_core::sandbox::MAX_ATTEMPT_LOG_BYTES;
    if captured.is_empty() {
        return None;
    }
    let mut tail = &captured[captured.len().saturating_sub(MAX_ATTEMPT_LOG_BYTES)..];
    if tail.len() < captured.len() {
        // From the first whole line; one line longer than all of it is kept as its end, from a
        // character's start.
        match tail.iter().position(|&b| b == b'\n') {
            Some(end) if end + 1 < tail.len() => tail = &tail[end + 1..],
            _ => {
                let start = tail.iter().position(|&b| b & 0xC0 != 0x80).unwrap_or(0);
                tail = &tail[start..];
            }
        }
    }
    Some(String::from_utf8_lossy(tail).into_owned())
}

/// One server-sent event: its name, and `data` as one line of JSON.
pub(crate) fn sse(event: &str, data: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    Bytes::from(format!("event: {event}\ndata: {json}\n\n"))
}

/// The journal of the store at `store`: beside it, `<store>.attempts`.
fn journal_path(store: &std::path::Path) -> std::path::PathBuf {
    let mut name = store.file_name().unwrap_or_default().to_owned();
    name.push(".attempts");
    store.with_file_name(name)
}

/// `error`, cut to [`MAX_ERROR_CHARS`] (saying how long it was) if it is longer.
fn kept(error: String) -> String {
    match eventfn_core::quote::excerpt_to(&error, MAX_ERROR_CHARS) {
        std::borrow::Cow::Borrowed(_) => error,
        std::borrow::Cow::Owned(cut) => cut,
    }
}

/// The store's thread: runs what is waiting in one transaction, then answers and hands new
/// deliveries to the dispatcher.
fn store_thread(
    mut store: Store,
    inbox: sync_mpsc::Receiver<Command>,
    dispatch: mpsc::UnboundedSender<store::Delivery>,
    journal: &Journal,
    log: Log,
    feed: &broadcast::Sender<Bytes>,
) {
    enum Answer {
        Published(Vec<(i64, Vec<store::Delivery>)>),
        ReplayedAll(Vec<store::Delivery>),
        Purged(std::result::Result<u64, String>),
        Counted(std::result::Result<Vec<(String, u64, u64)>, String>),
        Replayed(std::result::Result<std::result::Result<store::Delivery, String>, String>),
        Listed(std::result::Result<Vec<store::Delivery>, String>),
        Detailed(std::result::Result<Option<store::Detail>, String>),
        Resumed(std::result::Result<Vec<store::Delivery>, String>),
        Nothing,
    }
    while let Ok(first) = inbox.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match inbox.try_recv() {
                Ok(command) => group.push(command),
                Err(_) => break,
            }
        }
        let now = now_ms();
        let mut answers = Vec::with_capacity(group.len());
        let committed = store.atomically(|store| {
            for command in &group {
                answers.push(match command {
                    Command::Publish { events, .. } => {
                        let new: Vec<NewEvent<'_>> = events
                            .iter()
                            .map(|e| NewEvent {
                                kind: e.kind,
                                name: &e.name,
                                body: &e.body,
                                time: e.time,
                                delay: e.delay,
                                handlers: &e.handlers,
                                filtered: &e.filtered,
                                published_by: e.published_by,
                            })
                            .collect();
                        Answer::Published(store.publish_all(&new)?)
                    }
                    Command::Finish {
                        id,
                        attempt,
                        started,
                        duration_us,
                        outcome,
                        log,
                    } => {
                        store.finish(
                            *id,
                            *attempt,
                            *started,
                            *duration_us,
                            outcome,
                            log.as_deref(),
                        )?;
                        Answer::Nothing
                    }
                    Command::Start { id, attempt } => {
                        store.start(*id, *attempt)?;
                        Answer::Nothing
                    }
                    Command::Replay { id, .. } => Answer::Replayed(store.replay(*id, now)),
                    Command::List { filter, limit, .. } => {
                        Answer::Listed(store.list(*filter, *limit))
                    }
                    Command::Detail { id, .. } => Answer::Detailed(store.detail(*id)),
                    Command::Resume { .. } => Answer::Resumed(store.pending()),
                    Command::ReplayAll { .. } => Answer::ReplayedAll(store.replay_all(now)?),
                    Command::Purge { id, .. } => Answer::Purged(store.purge(*id)?),
                    Command::Counts { .. } => Answer::Counted(store.counts()),
                });
            }
            Ok(())
        });
        if let Err(error) = committed {
            // The journal keeps the group's starts, to be counted after a restart.
            // Nothing of the group is stored: say so to everyone waiting. Outcomes not recorded
            // leave their deliveries pending, so they are delivered again after a restart.
            log.error(&format!("the sandbox's store failed: {error}"));
            for command in group {
                match command {
                    Command::Publish { reply, .. } => drop(reply.send(Err(error.clone()))),
                    Command::Replay { reply, .. } => drop(reply.send(Err(error.clone()))),
                    Command::List { reply, .. } => drop(reply.send(Err(error.clone()))),
                    Command::Detail { reply, .. } => drop(reply.send(Err(error.clone()))),
                    Command::Resume { reply } => drop(reply.send(Err(error.clone()))),
                    Command::ReplayAll { reply } => drop(reply.send(Err(error.clone()))),
                    Command::Purge { reply, .. } => drop(reply.send(Err(error.clone()))),
                    Command::Counts { reply } => drop(reply.send(Err(error.clone()))),
                    Command::Start { .. } | Command::Finish { .. } => {}
                }
            }
            continue;
        }
        let started = group
            .iter()
            .filter(|c| matches!(c, Command::Start { .. }))
            .count();
        journal.committed(started as u64);
        // Told only when followed (reading the changed deliveries back costs a query each), in
        // the order the group has them.
        if feed.receiver_count() > 0 {
            let tell = |delivery: &store::Delivery| {
                let _ = feed.send(sse("delivery", &delivery.view_without_body()));
            };
            // A delivery started and finished in one group is read once, as it is now.
            let mut read = std::collections::HashSet::new();
            for (command, answer) in group.iter().zip(&answers) {
                match (command, answer) {
                    (_, Answer::Published(stored)) => {
                        stored.iter().flat_map(|(_, d)| d).for_each(tell);
                    }
                    (Command::Start { id, .. } | Command::Finish { id, .. }, _) => {
                        if read.insert(*id)
                            && let Ok(Some(delivery)) = store.get_without_body(*id)
                        {
                            tell(&delivery);
                        }
                    }
                    (_, Answer::Replayed(Ok(Ok(delivery)))) => tell(delivery),
                    (_, Answer::ReplayedAll(replayed)) => replayed.iter().for_each(tell),
                    (_, Answer::Purged(Ok(count))) => {
                        let _ = feed.send(sse("purged", &Counted { count: *count }));
                    }
                    _ => {}
                }
            }
        }
        for (command, answer) in group.into_iter().zip(answers) {
            // A requester that stopped waiting (a closed connection) needs no answer.
            match (command, answer) {
                (Command::Publish { reply, .. }, Answer::Published(stored)) => {
                    let mut ids = Vec::with_capacity(stored.len());
                    for (id, deliveries) in stored {
                        ids.push(id);
                        for delivery in deliveries {
                            let _ = dispatch.send(delivery);
                        }
                    }
                    let _ = reply.send(Ok(ids));
                }
                (Command::Replay { reply, .. }, Answer::Replayed(result)) => {
                    if let Ok(Ok(delivery)) = &result {
                        let _ = dispatch.send(delivery.clone());
                    }
                    let _ = reply.send(result);
                }
                (Command::List { reply, .. }, Answer::Listed(result)) => {
                    let _ = reply.send(result);
                }
                (Command::Detail { reply, .. }, Answer::Detailed(result)) => {
                    let _ = reply.send(result);
                }
                (Command::ReplayAll { reply }, Answer::ReplayedAll(replayed)) => {
                    for delivery in &replayed {
                        let _ = dispatch.send(delivery.clone());
                    }
                    let _ = reply.send(Ok(replayed));
                }
                (Command::Purge { reply, .. }, Answer::Purged(result)) => {
                    let _ = reply.send(Ok(result));
                }
                (Command::Counts { reply }, Answer::Counted(result)) => {
                    let _ = reply.send(result);
                }
                (Command::Resume { reply }, Answer::Resumed(result)) => {
                    let _ = reply.send(result.map(|pending| {
                        let count = pending.len();
                        for delivery in pending {
                            let _ = dispatch.send(delivery);
                        }
                        count
                    }));
                }
                _ => {}
            }
        }
    }
}

/// The dispatcher: pending deliveries by due time, handed out when due.
async fn dispatch_loop(
    engine: Arc<Engine>,
    mut incoming: mpsc::UnboundedReceiver<store::Delivery>,
) {
    engine.open.notified().await;
    let mut heap: BinaryHeap<Reverse<(u64, i64)>> = BinaryHeap::new();
    let mut waiting: HashMap<i64, store::Delivery> = HashMap::new();
    loop {
        let now = now_ms();
        let mut due = Vec::new();
        while let Some(&Reverse((at, id))) = heap.peek() {
            if at > now {
                break;
            }
            heap.pop();
            if let Some(delivery) = waiting.remove(&id) {
                due.push(delivery);
            }
        }
        if !due.is_empty() {
            engine.hand_out(due);
        }
        let next = heap.peek().map(|Reverse((at, _))| *at);
        let mut add = |delivery: store::Delivery| {
            heap.push(Reverse((delivery.due, delivery.id)));
            waiting.insert(delivery.id, delivery);
        };
        tokio::select! {
            received = incoming.recv() => {
                let Some(delivery) = received else { return };
                add(delivery);
                while let Ok(delivery) = incoming.try_recv() {
                    add(delivery);
                }
            }
            () = tokio::time::sleep(Duration::from_millis(
                next.unwrap_or(0).saturating_sub(now_ms()).min(1000)
            )), if next.is_some() => {}
        }
        if heap.capacity() > 1024 && heap.len() < heap.capacity() / 4 {
            heap.shrink_to_fit();
            waiting.shrink_to_fit();
        }
    }
}

/// Sleeps until `at` on the wall clock, waking at least once a second to read it again: tokio's
/// timers do not count time the machine spends suspended, and a delay that came due meanwhile
/// must still be delivered promptly.
async fn sleep_until_ms(at: u64) {
    loop {
        let wait = at.saturating_sub(now_ms());
        if wait == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(wait.min(1000))).await;
    }
}

/// One worker of a handler: takes a delivery (or a queue's batch) and attempts it.
async fn work(
    engine: Arc<Engine>,
    index: usize,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Vec<store::Delivery>>>>,
) {
    let handler = &engine.handlers[index];
    loop {
        let Some(batch) = queue.lock().await.recv().await else {
            return;
        };
        let fifo = handler.manifest.options.fifo == Some(true);
        for delivery in batch {
            let mut next = engine.attempt(handler, delivery).await;
            while let Some(retry) = next {
                if !fifo {
                    let _ = engine.schedule.send(retry);
                    break;
                }
                // A FIFO queue keeps its order: its one worker retries the failed message
                // itself, and takes nothing else until it is done or dead.
                sleep_until_ms(retry.due).await;
                next = engine.attempt(handler, retry).await;
            }
        }
    }
}

/// A schedule's clock: fires it at each of its times, each delivery's time the time it was due
/// (`Context::time`), and says so in the log in the schedule's zone and in UTC.
async fn tick(engine: Arc<Engine>, index: usize, timezone: Option<String>, clock: Clock) {
    let handler = &engine.handlers[index];
    let name = &handler.entry.registration.name;
    let start = now_ms();
    let mut after = start;
    while let Some(next) = clock.next(start, after) {
        handler.next.store(next, Ordering::Relaxed);
        sleep_until_ms(next).await;
        // After a suspend, the next time from now: missed times are not fired in a burst.
        after = next.max(now_ms());
        if !engine.log.is_quiet() {
            engine.log.status(
                "Firing",
                &format!(
                    "schedule `{name}`: {}",
                    super::clock::describe(next, timezone.as_deref())
                ),
            );
        }
        if let Err(refusal) = engine.trigger_at(name, next).await {
            engine
                .log
                .warn(&format!("schedule `{name}` did not fire: {refusal}"));
        }
    }
    handler.next.store(0, Ordering::Relaxed);
}

/// The sandbox as the process's event bus: what `eventfn::publish` sends to in the sandbox.
pub struct LocalBus(pub Arc<Engine>);

impl Bus for LocalBus {
    fn send(
        &self,
        messages: Vec<Message>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + '_>> {
        // Published from within an attempt's handler: that delivery is its publisher.
        let published_by = RUNNING.try_with(|id| *id).ok();
        Box::pin(async move {
            self.0
                .accept_from(messages, published_by)
                .await
                .map(drop)
                .map_err(|refusal| crate::error::message(refusal.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempts_log_is_kept_whole_or_its_last_lines() {
        use eventfn_core::sandbox::MAX_ATTEMPT_LOG_BYTES;
        assert_eq!(kept_log(b""), None);
        assert_eq!(kept_log(b"INFO a\n").as_deref(), Some("INFO a\n"));
        let mut long = Vec::new();
        for n in 0..10_000 {
            long.extend_from_slice(format!("INFO line {n}\n").as_bytes());
        }
        let kept = kept_log(&long).unwrap();
        assert!(kept.len() <= MAX_ATTEMPT_LOG_BYTES, "{}", kept.len());
        assert!(kept.starts_with("INFO line "), "from a line's start");
        assert!(kept.ends_with("INFO line 9999\n"), "the last lines");
        // One line longer than what is kept: its end, from a character's start.
        let one = "é".repeat(MAX_ATTEMPT_LOG_BYTES);
        let kept = kept_log(one.as_bytes()).unwrap();
        assert!(
            !kept.is_empty() && kept.chars().all(|c| c == 'é'),
            "{}",
            &kept[..8]
        );
    }

    #[test]
    fn errors_are_kept_up_to_a_bound() {
        assert_eq!(kept("still broken".to_owned()), "still broken");
        let huge = kept("x".repeat(5_000_000));
        assert!(
            huge.ends_with("… (5000000 characters in all)"),
            "{}",
            &huge[4000..]
        );
        assert!(huge.len() < MAX_ERROR_CHARS + 100);
    }
}
