//! Publishing events and enqueuing jobs.
//!
//! Every message is checked here, before anything is sent: the name must be valid, the payload
//! must serialize to JSON, and the JSON must fit SNS's and SQS's 256 KB message limit.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventfn_core::{Kind, parse_after, validate_name};
use serde::Serialize;

use crate::Result;
use crate::error::message;

/// The largest payload, as JSON, that can be published or enqueued: SNS and SQS take 256 KB per
/// message, counting its attributes, for which eventfn keeps 1 KB.
pub const MAX_PAYLOAD_BYTES: usize = eventfn_core::MAX_PAYLOAD_BYTES;

/// Room kept for the message attributes eventfn sets (`eventfn.name`, ...; a name is at most 240
/// characters).
const ATTRIBUTE_ALLOWANCE: usize = 1024;

/// Publishes `payload` to every subscriber of event `name`, when awaited; `.after(...)` delays it.
///
/// ```no_run
/// # async fn f() -> eventfn::Result<()> {
/// let signup = serde_json::json!({ "user_id": "u1" });
/// eventfn::publish("account-signup", &signup).await?;
/// // Delivered in five minutes, or later; never before.
/// eventfn::publish("account-reminder", &signup).after("5 minutes").await?;
/// # Ok(()) }
/// ```
pub fn publish<T: Serialize + ?Sized>(name: &str, payload: &T) -> Publish {
    Publish::new(Message::new(Kind::Event, name, payload).map(|m| vec![m]))
}

/// Publishes several payloads to event `name` in as few requests as the bus allows (SNS
/// `PublishBatch`, ten at a time). Every payload is checked before any is sent.
pub fn publish_many<'a, T, I>(name: &str, payloads: I) -> Publish
where
    T: Serialize + ?Sized + 'a,
    I: IntoIterator<Item = &'a T>,
{
    Publish::new(messages(Kind::Event, name, payloads))
}

/// Sends `payload` to queue `name`, whose handler receives it in a batch, when awaited;
/// `.after(...)` delays it.
pub fn enqueue<T: Serialize + ?Sized>(name: &str, payload: &T) -> Publish {
    Publish::new(Message::new(Kind::Queue, name, payload).map(|m| vec![m]))
}

/// Sends several payloads to queue `name` (SQS `SendMessageBatch`, ten at a time). Every payload
/// is checked before any is sent.
pub fn enqueue_many<'a, T, I>(name: &str, payloads: I) -> Publish
where
    T: Serialize + ?Sized + 'a,
    I: IntoIterator<Item = &'a T>,
{
    Publish::new(messages(Kind::Queue, name, payloads))
}

fn messages<'a, T, I>(kind: Kind, name: &str, payloads: I) -> Result<Vec<Message>>
where
    T: Serialize + ?Sized + 'a,
    I: IntoIterator<Item = &'a T>,
{
    payloads
        .into_iter()
        .map(|payload| Message::new(kind, name, payload))
        .collect()
}

/// A publish or enqueue, sent when awaited. The payload was checked and serialized when it was
/// made, so it borrows nothing.
#[must_use = "a publish sends nothing until it is awaited"]
#[derive(Debug)]
pub struct Publish {
    messages: Result<Vec<Message>>,
    after: Option<After>,
}

impl Publish {
    fn new(messages: Result<Vec<Message>>) -> Publish {
        Publish {
            messages,
            after: None,
        }
    }

    /// Delivers no sooner than `after`, Ampt's: a number of milliseconds to wait, a Unix
    /// timestamp in milliseconds, an RFC 3339 UTC time (`"2026-12-24T18:00:00Z"`), a count and a
    /// unit (`"5 minutes"`, `"1 day"`, seconds to years), a [`Duration`] or a [`SystemTime`]. It
    /// must lie in the future, at most a year ahead; anything else is an error when awaited,
    /// before anything is sent.
    ///
    /// The sandbox holds a delayed message in its store. On AWS it waits in SQS (`DelaySeconds`)
    /// for up to 15 minutes and in an EventBridge Scheduler one-time schedule beyond that (see
    /// [`eventfn_core::delay`]); either way the handler's [`Context::time`](crate::Context::time)
    /// is when it was published and [`Context::delay`](crate::Context::delay) the delay asked
    /// for.
    pub fn after(mut self, after: impl Into<After>) -> Publish {
        uses::mark(&uses::SCHEDULER);
        self.after = Some(after.into());
        self
    }

    /// The messages to send, with their delay; an error if a payload or the delay is refused.
    fn resolve(self) -> Result<Vec<Message>> {
        let mut messages = self.messages?;
        if let (Some(after), Some(first)) = (&self.after, messages.first()) {
            let delay = after.delay_ms(first.time).map_err(|e| {
                message(format!(
                    "cannot send to {} `{}`: {e}",
                    first.kind.as_str(),
                    first.name
                ))
            })?;
            for message in &mut messages {
                message.delay = delay;
            }
        }
        Ok(messages)
    }
}

impl IntoFuture for Publish {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let messages = self.resolve();
        Box::pin(async move { send(messages?).await })
    }
}

/// When a delayed message may be delivered: see [`Publish::after`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After(AfterValue);

#[derive(Debug, Clone, PartialEq, Eq)]
enum AfterValue {
    /// Milliseconds, or a timestamp in milliseconds; negative is refused.
    Number(i128),
    Text(String),
    Wait(Duration),
    At(SystemTime),
}

impl After {
    /// The delay asked for, in milliseconds, read at `now` (milliseconds since the Unix epoch).
    pub fn delay_ms(&self, now: u64) -> std::result::Result<u64, String> {
        let number = |n: i128| {
            u64::try_from(n)
                .map_err(|_| format!("after {n}: a delay cannot be negative"))
                .and_then(|n| eventfn_core::after::after_ms(n, now))
        };
        match &self.0 {
            AfterValue::Number(n) => number(*n),
            AfterValue::Text(text) => parse_after(text, now),
            AfterValue::Wait(wait) => {
                number(wait.as_millis() as i128).map_err(|e| format!("after {wait:?}: {e}"))
            }
            AfterValue::At(at) => {
                let at = at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                eventfn_core::after::after_ms(at.max(1), now)
                    .and_then(|delay| {
                        if at > now {
                            Ok(delay)
                        } else {
                            Err("that time is not in the future".to_owned())
                        }
                    })
                    .map_err(|e| format!("after the time {at} (ms since the epoch): {e}"))
            }
        }
    }
}

macro_rules! after_from_integer {
    ($($t:ty)*) => {$(
        impl From<$t> for After {
            fn from(n: $t) -> After {
                After(AfterValue::Number(n as i128))
            }
        }
    )*};
}
after_from_integer!(i32 i64 u32 u64 usize);

impl From<&str> for After {
    fn from(text: &str) -> After {
        After(AfterValue::Text(text.to_owned()))
    }
}

impl From<String> for After {
    fn from(text: String) -> After {
        After(AfterValue::Text(text))
    }
}

impl From<Duration> for After {
    fn from(wait: Duration) -> After {
        After(AfterValue::Wait(wait))
    }
}

impl From<SystemTime> for After {
    fn from(at: SystemTime) -> After {
        After(AfterValue::At(at))
    }
}

/// A message checked and ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// [`Kind::Event`] for a publish, [`Kind::Queue`] for an enqueue, [`Kind::Rule`] for an
    /// event put on a bus.
    pub kind: Kind,
    /// The event's or queue's name, or the bus, checked.
    pub name: String,
    /// The payload as JSON (an event's `detail`, for a bus).
    pub body: String,
    /// When it was published, in milliseconds since the Unix epoch.
    pub time: u64,
    /// How long to wait before delivering it, in milliseconds.
    pub delay: u64,
    /// For an event put on a bus: its `source` and `detail-type`.
    pub entry: Option<BusEntry>,
}

/// What an event put on a bus carries besides its detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEntry {
    /// Its `source`, like `shop.orders`.
    pub source: String,
    /// Its `detail-type`, like `order.placed`.
    pub detail_type: String,
}

impl Message {
    /// What it counts against the 256 KB limits: its body and room for its attributes.
    pub fn size(&self) -> usize {
        self.body.len() + ATTRIBUTE_ALLOWANCE
    }

    /// Checks the name, serializes the payload and checks its size.
    pub fn new<T: Serialize + ?Sized>(kind: Kind, name: &str, payload: &T) -> Result<Message> {
        let what = kind.as_str();
        validate_name(name).map_err(|e| {
            message(format!(
                "cannot send to {what} `{name}`: invalid {what} name: {e}"
            ))
        })?;
        let body = serde_json::to_string(payload).map_err(|e| {
            message(format!(
                "cannot send to {what} `{name}`: the payload does not serialize to JSON: {e}"
            ))
        })?;
        if body.len() > MAX_PAYLOAD_BYTES {
            return Err(message(format!(
                "cannot send to {what} `{name}`: {}",
                eventfn_core::payload_too_large(body.len())
            )));
        }
        Ok(Message {
            kind,
            name: name.to_owned(),
            body,
            time: crate::dispatch::now_ms(),
            delay: 0,
            entry: None,
        })
    }

    /// Checks an event to put on `bus` as `PutEvents` would ([`eventfn_core::pattern::check_entry`]),
    /// serializing its detail; `aws_sources` lets its source start with `aws.`, as the
    /// sandbox's and the test kit's stand-ins for AWS's events may.
    pub fn put<T: Serialize + ?Sized>(
        bus: &str,
        source: &str,
        detail_type: &str,
        detail: &T,
        aws_sources: bool,
    ) -> Result<Message> {
        Message::put_json(
            bus,
            source,
            detail_type,
            detail_json(bus, detail)?,
            aws_sources,
        )
    }

    /// [`Message::put`] of a detail already serialized, `body`.
    pub(crate) fn put_json(
        bus: &str,
        source: &str,
        detail_type: &str,
        body: String,
        aws_sources: bool,
    ) -> Result<Message> {
        let what = || {
            format!(
                "cannot put an event on bus `{}`",
                eventfn_core::quote::excerpt(bus)
            )
        };
        eventfn_core::Bus::parse(bus)
            .map_err(|e| message(format!("{}: invalid bus: {e}", what())))?;
        eventfn_core::pattern::check_entry(source, detail_type, &body, aws_sources)
            .map_err(|e| message(format!("{}: {e}", what())))?;
        Ok(Message {
            kind: Kind::Rule,
            name: bus.to_owned(),
            body,
            time: crate::dispatch::now_ms(),
            delay: 0,
            entry: Some(BusEntry {
                source: source.to_owned(),
                detail_type: detail_type.to_owned(),
            }),
        })
    }
}

/// An event's detail as JSON, for `bus`.
fn detail_json<T: Serialize + ?Sized>(bus: &str, detail: &T) -> Result<String> {
    serde_json::to_string(detail).map_err(|e| {
        message(format!(
            "cannot put an event on bus `{}`: the detail does not serialize to JSON: {e}",
            eventfn_core::quote::excerpt(bus)
        ))
    })
}

/// Puts an event on EventBridge bus `bus`, a bus of the app (`#[rule(bus = "...")]` names it),
/// when awaited: every rule on that bus whose pattern matches it receives it. `detail` must
/// serialize to a JSON object, and is what those rules' handlers take as their payload; its
/// source is `eventfn` unless [`PutEvents::source`] says otherwise.
///
/// ```no_run
/// # async fn f() -> eventfn::Result<()> {
/// let budget = serde_json::json!({ "amount": 12_000 });
/// eventfn::put_event("budgets", "BUDGET_ANALYSIS", &budget).await?;
/// eventfn::put_event("budgets", "BUDGET_ANALYSIS", &budget).source("finance").await?;
/// # Ok(()) }
/// ```
///
/// On AWS it is `PutEvents` on the bus the template made (found through `EVENTFN_BUSES` or the
/// SSM parameter `/<stack>/buses/<name>`), which the functions' roles may put on; in the
/// sandbox, the sandbox's bus; in `eventfn::testing`, recorded.
pub fn put_event<T: Serialize + ?Sized>(bus: &str, detail_type: &str, detail: &T) -> PutEvents {
    put_events(bus, detail_type, std::iter::once(detail))
}

/// Puts several events of one detail type on `bus` in as few requests as EventBridge allows
/// (ten entries and 256 KB a request); each is checked before any is put. EventBridge's answer
/// is read entry by entry: the error names each entry it refused, and why.
pub fn put_events<'a, T, I>(bus: &str, detail_type: &str, details: I) -> PutEvents
where
    T: Serialize + ?Sized + 'a,
    I: IntoIterator<Item = &'a T>,
{
    uses::mark(&uses::EVENTBRIDGE);
    let details: Result<Vec<String>> = details
        .into_iter()
        .map(|detail| detail_json(bus, detail))
        .collect();
    PutEvents {
        bus: bus.to_owned(),
        detail_type: detail_type.to_owned(),
        source: eventfn_core::pattern::DEFAULT_SOURCE.to_owned(),
        details,
    }
}

/// Events to put on a bus, put when awaited: see [`put_event`].
#[must_use = "a put sends nothing until it is awaited"]
#[derive(Debug)]
pub struct PutEvents {
    bus: String,
    detail_type: String,
    source: String,
    details: Result<Vec<String>>,
}

impl PutEvents {
    /// The events' `source`, which patterns often match on (`{"source": ["finance"]}`):
    /// `eventfn` unless set. AWS keeps sources that start with `aws.` for its services.
    pub fn source(mut self, source: &str) -> PutEvents {
        self.source = source.to_owned();
        self
    }

    fn messages(self) -> Result<Vec<Message>> {
        self.details?
            .into_iter()
            .map(|detail| {
                Message::put_json(&self.bus, &self.source, &self.detail_type, detail, false)
            })
            .collect()
    }
}

impl IntoFuture for PutEvents {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let messages = self.messages();
        Box::pin(async move { send(messages?).await })
    }
}

/// What the app's code can reach, told to `cargo eventfn build` through the Lambda binary, so that
/// it links EventBridge's and the Scheduler's SDK clients only into apps that use them.
///
/// Each marker is a static in a link section of its own (named by
/// [`eventfn_core::Client::EVENTBRIDGE_SECTION`] and [`eventfn_core::Client::SCHEDULER_SECTION`])
/// that only [`put_events`] and [`Publish::after`] refer to. Both are generic, so their code is
/// made in the app's crates, where they are called; the linker (`--gc-sections`, and LTO before
/// it) drops a static nothing kept refers to, so the section is in the binary exactly when the
/// code that needs the client is. Only Linux binaries are read (Lambda runs Linux), and Mach-O
/// spells sections otherwise: elsewhere the markers are plain statics.
mod uses {
    #[cfg_attr(
        target_os = "linux",
        unsafe(link_section = ".eventfn.uses.eventbridge")
    )]
    pub(super) static EVENTBRIDGE: [u8; 11] = *b"eventbridge";
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".eventfn.uses.scheduler"))]
    pub(super) static SCHEDULER: [u8; 9] = *b"scheduler";

    /// Refers to `marker` from the calling code, in a way no optimizer drops.
    #[inline(always)]
    pub(super) fn mark(marker: &'static [u8]) {
        std::hint::black_box(marker);
    }
}

/// Where messages go: SNS and SQS on AWS, the local bus in the sandbox.
pub trait Bus: Send + Sync + 'static {
    /// Sends one or more messages, all of one kind and to one name.
    fn send(&self, messages: Vec<Message>)
    -> Pin<Box<dyn Future<Output = Result<()>> + Send + '_>>;
}

static BUS: OnceLock<Box<dyn Bus>> = OnceLock::new();

/// Connects the process's bus; done once, by the runtime, before handlers run.
pub fn connect(bus: Box<dyn Bus>) -> Result<()> {
    BUS.set(bus)
        .map_err(|_| message("eventfn: an event bus is already connected to this process"))
}

pub(crate) async fn send(outgoing: Vec<Message>) -> Result<()> {
    let Some(first) = outgoing.first() else {
        return Ok(());
    };
    #[cfg(feature = "testing")]
    if let Some(captured) = crate::testing::capture(&outgoing) {
        return captured;
    }
    if let Some(bus) = BUS.get() {
        return bus.send(outgoing).await;
    }
    if let Ok(url) = std::env::var(eventfn_core::sandbox::SANDBOX_ENV) {
        let bus = crate::sandbox_bus::HttpBus::new(&url)?;
        return BUS.get_or_init(|| Box::new(bus)).send(outgoing).await;
    }
    if crate::aws::configured() {
        #[cfg(feature = "aws-base")]
        {
            let bus = BUS.get_or_init(|| Box::new(crate::aws_sdk::AwsBus::shared()));
            return bus.send(outgoing).await;
        }
        #[cfg(not(feature = "aws-base"))]
        return Err(message(format!(
            "cannot send to `{}`: this program was built without eventfn's AWS SDK clients: \
             build a Lambda app with `cargo eventfn build` (or `deploy`), which links those the \
             app needs, and turn on eventfn's `aws` feature in any other program that \
             publishes to AWS: eventfn = {{ version = \"0.1\", features = [\"aws\"] }}",
            first.name
        )));
    }
    Err(message(format!(
        "cannot send to `{}`: no event bus is connected to this process: locally, run the app \
         with `cargo eventfn dev` and set {}=http://127.0.0.1:{} (the address it prints) in \
         this process; on AWS, set {} or {} (the deployed template does), or {} to find topics \
         and queues in SSM",
        first.name,
        eventfn_core::sandbox::SANDBOX_ENV,
        eventfn_core::sandbox::DEFAULT_PORT,
        crate::aws::TOPICS_ENV,
        crate::aws::QUEUES_ENV,
        crate::aws::STACK_ENV
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_before_sending() {
        let ok = Message::new(Kind::Event, "account-signup", &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(ok.body, r#"{"a":1}"#);

        let bad_name = Message::new(Kind::Event, "9lives", &1)
            .unwrap_err()
            .to_string();
        assert!(
            bad_name.contains(
                "cannot send to event `9lives`: invalid event name: `9lives` starts with `9`"
            ),
            "{bad_name}"
        );

        let big = "x".repeat(MAX_PAYLOAD_BYTES);
        let too_big = Message::new(Kind::Queue, "jobs", &big)
            .unwrap_err()
            .to_string();
        assert!(
            too_big.contains(&format!("is {} bytes as JSON", MAX_PAYLOAD_BYTES + 2)),
            "{too_big}"
        );
        assert!(Message::new(Kind::Queue, "jobs", &"x".repeat(MAX_PAYLOAD_BYTES - 2)).is_ok());

        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let unserializable = Message::new(Kind::Event, "e", &map)
            .unwrap_err()
            .to_string();
        assert!(
            unserializable.contains("does not serialize to JSON"),
            "{unserializable}"
        );
    }

    #[tokio::test]
    async fn after_sets_the_delay_and_is_checked_before_anything_is_sent() {
        let delay = |after: After| {
            publish("e", &1)
                .after(after)
                .resolve()
                .map(|m| m[0].delay)
                .map_err(|e| e.to_string())
        };
        assert_eq!(delay(After::from(5_000)).unwrap(), 5_000);
        assert_eq!(delay(After::from("5 minutes")).unwrap(), 300_000);
        assert_eq!(delay(After::from(Duration::from_secs(2))).unwrap(), 2_000);
        let at = delay(After::from(SystemTime::now() + Duration::from_secs(60))).unwrap();
        assert!((59_000..=60_000).contains(&at), "{at}");
        for (after, expected) in [
            (
                After::from(-5),
                "cannot send to event `e`: after -5: a delay cannot be negative",
            ),
            (
                After::from("5 mintues"),
                "cannot send to event `e`: `after` is `5 mintues`",
            ),
            (After::from(0), "cannot send to event `e`:"),
            (After::from(SystemTime::UNIX_EPOCH), "is not in the future"),
        ] {
            let error = delay(after).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        // Refused when awaited, before any bus is asked.
        let error = publish("e", &1)
            .after("soon")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("`after` is `soon`"), "{error}");
        let batch = publish_many("e", [&1, &2]).after(10).resolve().unwrap();
        assert!(batch.iter().all(|m| m.delay == 10));
    }

    #[tokio::test]
    async fn without_a_bus_says_so() {
        let err = publish("account-signup", &1).await.unwrap_err().to_string();
        assert!(err.contains("no event bus is connected"), "{err}");
    }
}
