//! The app manifest, `eventfn.json`: every handler of an app with its kind, name, Rust function,
//! payload type, options (defaults filled in) and source location.
//!
//! ```json
//! {
//!   "version": 1,
//!   "app": "welcome",
//!   "package": "welcome",
//!   "binary": "welcome",
//!   "architecture": "x86_64",
//!   "region": null,
//!   "handlers": [
//!     {
//!       "kind": "event",
//!       "name": "account-signup",
//!       "function": "welcome::send_welcome",
//!       "payload": "Signup",
//!       "context": true,
//!       "options": { "timeout": 5, "retries": 2, "memory": 1024 },
//!       "source": { "file": "examples/welcome/src/lib.rs", "line": 36, "column": 1 }
//!     }
//!   ]
//! }
//! ```
//!
//! - `version` changes whenever a field changes meaning or goes away; new optional fields may be
//!   added within a version.
//! - `kind` is `event`, `queue` or `schedule`; a schedule also has `schedule`, its `rate(...)` or
//!   `cron(...)` expression, and is named after its function unless it sets `name`.
//! - An event handler with a `filter` has it as `filter`: an Amazon SNS filter policy on the
//!   payload (see [`crate::filter`]), which its subscription carries.
//! - `kind` `rule` is an EventBridge rule's handler: `bus` names the bus it listens on
//!   (`default`, a partner bus, an ARN or a bus of the app: see [`crate::pattern::Bus`]) and
//!   `pattern` is its event pattern ([`crate::pattern`]); like a schedule, it is named after its
//!   function unless it sets `name`.
//! - `payload` is the payload type as written in the handler's signature (`null` when the handler
//!   takes none); `context` says whether it takes an `eventfn::Context`.
//! - `options.timeout` is in seconds and `options.memory` in MB; `concurrency` appears when set;
//!   queues also have `batch_size` and `fifo`.
//! - `source.file` is the path rustc was given (`file!()`): relative to the workspace root for
//!   workspace members, absolute for crates outside the workspace.
//! - Handlers are sorted by kind, name and function, so the file is the same for the same code.

use serde::{Deserialize, Serialize};

/// The version of the manifest and registration record formats.
pub const MANIFEST_VERSION: u32 = 1;

/// What kind of trigger a handler has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `#[event]`: pub/sub, published to an SNS topic and delivered to every subscriber.
    Event,
    /// `#[queue]`: jobs in an SQS queue, taken in batches by its one handler.
    Queue,
    /// `#[schedule]`: fired by EventBridge on a `rate(...)` or `cron(...)` expression.
    Schedule,
    /// `#[rule]`: the events of an EventBridge bus that match a pattern.
    Rule,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Event, Kind::Queue, Kind::Schedule, Kind::Rule];

    /// Its name in `eventfn.json`, registration records and the sandbox's API: `event`, `queue`,
    /// `schedule` or `rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Queue => "queue",
            Kind::Schedule => "schedule",
            Kind::Rule => "rule",
        }
    }

    /// The kind [`Kind::as_str`] names.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether handlers of this kind are named after their function unless they set `name`:
    /// schedules and rules, whose first argument is not a name.
    pub fn named_by_function(self) -> bool {
        matches!(self, Kind::Schedule | Kind::Rule)
    }

    /// The attribute that declares handlers of this kind.
    pub fn attribute(self) -> &'static str {
        match self {
            Kind::Event => "#[event]",
            Kind::Queue => "#[queue]",
            Kind::Schedule => "#[schedule]",
            Kind::Rule => "#[rule]",
        }
    }
}

/// The CPU architecture the Lambda functions run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// `x86_64`, the default.
    #[default]
    X86_64,
    /// `arm64` (Graviton): `architecture = "arm64"` in `[package.metadata.eventfn]`, or
    /// `cargo eventfn build --arm64`.
    Arm64,
}

impl Architecture {
    /// Lambda's name for it, as in `eventfn.json` and the functions' `Architectures`: `x86_64`
    /// or `arm64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The Rust target that builds for it.
    pub fn rust_target(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-unknown-linux-gnu",
            Architecture::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }
}

/// An app: what `cargo eventfn build` writes to `eventfn.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format's version: [`MANIFEST_VERSION`] when written.
    pub version: u32,
    /// The app's name: `app` of `[package.metadata.eventfn]`, else the package's name; the stack
    /// is named after it.
    pub app: String,
    /// The Cargo package the app was built from.
    pub package: String,
    /// The package's binary target that was built: the functions' `bootstrap`.
    pub binary: String,
    /// What the binary was built for and the functions run on.
    pub architecture: Architecture,
    /// `region` of `[package.metadata.eventfn]`; `None` when not set, leaving the region to the
    /// AWS configuration at deploy time.
    pub region: Option<String>,
    /// How the bootstrap was built; `None` in a manifest written before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
    /// Every handler of the app, in the order of [`Manifest::sort`].
    pub handlers: Vec<Handler>,
}

/// How `cargo eventfn build` built the bootstrap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// `native` (cargo with the host's compiler and linker) or `zig` (cargo-zigbuild, which links
    /// against the pinned glibc whatever the host has).
    pub toolchain: String,
    /// The target cargo built for: the host's triple for a native build on a Linux host of the
    /// functions' architecture, else with zig the triple with the glibc pinned
    /// (`x86_64-unknown-linux-gnu.2.34`).
    pub target: String,
    /// `debug` or `release`.
    pub profile: String,
    /// The newest glibc the bootstrap was allowed to need (`--glibc`; Lambda's `2.34` unless
    /// set lower).
    pub glibc_ceiling: String,
    /// The newest glibc the bootstrap needs, read from its symbol versions; `None` when it
    /// links no glibc.
    pub glibc_required: Option<String>,
    /// The AWS SDK clients the build turned on beside SQS and SSM's `GetParameter`, which every
    /// bootstrap has: those the app needs ([`Client`]). An app that turns on eventfn's `aws`
    /// feature itself links them all.
    #[serde(default)]
    pub clients: Vec<Client>,
}

/// An AWS SDK client a bootstrap links only when the app needs it. Every bootstrap links SQS
/// (queues, dead letters, the delay queue) and reads SSM parameters (where the stack's topics,
/// queues and buses are); `cargo eventfn build` adds these, each as eventfn's feature of
/// [`Client::feature`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// SNS, to publish events: when the app has an `#[event]` handler (a stage has topics only
    /// for those, and forwards delayed events to them).
    Sns,
    /// EventBridge, to put events on buses: when the app's code calls `put_event` or
    /// `put_events`, which the binary tells by [`Client::EVENTBRIDGE_SECTION`].
    EventBridge,
    /// EventBridge Scheduler, for delays over 15 minutes: when the app's code calls
    /// `.after(...)`, which the binary tells by [`Client::SCHEDULER_SECTION`].
    Scheduler,
}

impl Client {
    /// Every client, in order.
    pub const ALL: [Client; 3] = [Client::Sns, Client::EventBridge, Client::Scheduler];

    /// The link section a Linux binary has when its code can reach `put_event`: the runtime
    /// puts a marker there from that code only, so the linker keeps it only if that code is
    /// kept.
    pub const EVENTBRIDGE_SECTION: &str = ".eventfn.uses.eventbridge";
    /// The link section a Linux binary has when its code can reach `.after(...)`.
    pub const SCHEDULER_SECTION: &str = ".eventfn.uses.scheduler";

    /// eventfn's cargo feature that links this client.
    pub fn feature(self) -> &'static str {
        match self {
            Client::Sns => "aws-sns",
            Client::EventBridge => "aws-eventbridge",
            Client::Scheduler => "aws-scheduler",
        }
    }

    /// The service, as people call it.
    pub fn service(self) -> &'static str {
        match self {
            Client::Sns => "SNS",
            Client::EventBridge => "EventBridge",
            Client::Scheduler => "EventBridge Scheduler",
        }
    }
}

/// One handler, its options resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handler {
    /// Which attribute declared it.
    pub kind: Kind,
    /// The event or queue it handles; for a schedule, its `name` option, else its function's
    /// name.
    pub name: String,
    /// A schedule's `rate(...)`, `cron(...)` or `at(...)` expression; `None` for others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// An event handler's filter policy: the payloads it receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
    /// A rule's bus: `default`, a partner bus, an event bus ARN, or a bus of the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
    /// A rule's event pattern: the events of its bus it receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<serde_json::Value>,
    /// A schedule's IANA time zone, its own or the app's; `None`: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// A schedule's flexible window, in minutes; `None`: it fires on the minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flexible_window: Option<u32>,
    /// The handler's Rust path, like `welcome::send_welcome`: what `EVENTFN_HANDLER` names on
    /// Lambda.
    pub function: String,
    /// The payload type as written in the handler's signature, like `Signup`; `None` when it
    /// takes none.
    pub payload: Option<String>,
    /// Whether the handler takes an `eventfn::Context`.
    pub context: bool,
    /// Its options, defaults filled in.
    pub options: Options,
    /// Where it is declared.
    pub source: Source,
}

/// A handler's options with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// How long an attempt may run, in seconds (1 to 900): the function's Lambda timeout.
    pub timeout: u32,
    /// How many times a failed delivery is tried again before it is a dead letter (0 to 999):
    /// the handler's SQS queue redrives after `retries + 1` receives.
    pub retries: u32,
    /// The function's Lambda memory, in MB (128 to 10240).
    pub memory: u32,
    /// The function's reserved concurrent executions (1 to 1000); `None`: unreserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// A queue's most messages per invocation: its SQS event source mapping's `BatchSize`;
    /// `None` for events and schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// Whether a queue is a FIFO queue, delivered in order; `None` for events and schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
}

/// Where a handler is declared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    /// The path rustc was given (`file!()`): relative to the workspace root for workspace
    /// members, absolute for crates outside the workspace.
    pub file: String,
    /// The line of the handler's attribute (`line!()`), from 1.
    pub line: u32,
    /// The column of the handler's attribute (`column!()`), from 1.
    pub column: u32,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// What is wrong with the retry policies of `handlers` that AWS cannot keep: one line per
/// handler whose attempts would outlast SQS's retention ([`crate::options::check_retry_window`]),
/// naming it and where it is. `cargo eventfn build` refuses them; the sandbox and
/// `eventfn::testing` say so too.
pub fn unfit_retry_windows<'a>(handlers: impl IntoIterator<Item = &'a Handler>) -> Vec<String> {
    handlers
        .into_iter()
        .filter_map(|h| {
            crate::options::check_retry_window(h.options.retries, h.options.timeout)
                .err()
                .map(|e| format!("handler `{}` at {}: {e}", h.function, h.source))
        })
        .collect()
}

/// One-time schedules (`at(...)`) that would never fire: their time is not after `now_ms`
/// (milliseconds since the Unix epoch), or the clocks of their zone skip it. Each message names
/// the handler, where it is and the time in UTC. `cargo eventfn build` refuses them (a compile
/// error would break a build of old code once its date passed).
pub fn passed_one_time_schedules<'a>(
    handlers: impl IntoIterator<Item = &'a Handler>,
    now_ms: u64,
) -> Vec<String> {
    let mut found = Vec::new();
    for handler in handlers {
        let Some(Ok(crate::Schedule::At { at })) =
            handler.schedule.as_deref().map(crate::Schedule::parse)
        else {
            continue;
        };
        let zone_name = handler.timezone.as_deref().unwrap_or("UTC");
        let Ok(zone) = crate::zone::parse_timezone(zone_name) else {
            continue;
        };
        let what = format!(
            "schedule `{}` (`{}` at {}): at({}) in {zone_name}",
            handler.name,
            handler.function,
            handler.source,
            at.format("%Y-%m-%dT%H:%M:%S")
        );
        match crate::zone::local_to_utc(zone, at) {
            None => found.push(format!(
                "{what} is a time the clocks skip there (daylight saving): it would never fire"
            )),
            Some(instant) if instant.timestamp_millis() <= now_ms as i64 => found.push(format!(
                "{what} was {}, which has passed: a one-time schedule fires once, at a time \
                 ahead; give it a new time or remove it",
                instant.format("%Y-%m-%d %H:%M:%S UTC")
            )),
            Some(_) => {}
        }
    }
    found
}

impl Manifest {
    /// Sorts handlers into their canonical order.
    pub fn sort(&mut self) {
        self.handlers
            .sort_by(|a, b| (a.kind, &a.name, &a.function).cmp(&(b.kind, &b.name, &b.function)));
    }

    /// Handlers of one kind, in manifest order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Handler> {
        self.handlers.iter().filter(move |h| h.kind == kind)
    }

    /// The buses of the app's own that its rules listen on, each once, sorted: those the
    /// template creates (not `default`, partner buses or ARNs).
    pub fn own_buses(&self) -> Vec<&str> {
        let mut buses: Vec<&str> = self
            .of_kind(Kind::Rule)
            .filter_map(|h| h.bus.as_deref())
            .filter(|bus| {
                matches!(
                    crate::pattern::Bus::parse(bus),
                    Ok(crate::pattern::Bus::Own(_))
                )
            })
            .collect();
        buses.sort_unstable();
        buses.dedup();
        buses
    }

    /// Distinct names of one kind, sorted.
    pub fn names(&self, kind: Kind) -> Vec<&str> {
        let mut names: Vec<&str> = self.of_kind(kind).map(|h| h.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_what_as_str_writes() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("Event"), None);
        assert_eq!(Kind::parse(""), None);
    }

    #[test]
    fn one_time_schedules_that_cannot_fire_are_named() {
        let schedule = |at: &str, zone: Option<&str>| -> Handler {
            serde_json::from_value(serde_json::json!({
                "kind": "schedule", "name": "launch", "schedule": format!("at({at})"),
                "timezone": zone, "function": "app::launch", "payload": null, "context": false,
                "options": { "timeout": 5, "retries": 2, "memory": 128 },
                "source": { "file": "src/main.rs", "line": 7, "column": 1 },
            }))
            .unwrap()
        };
        // 2027-01-01T00:00:00Z.
        let now = 1_798_761_600_000;
        let ahead = schedule("2027-06-01T09:00:00", Some("Europe/Amsterdam"));
        assert!(passed_one_time_schedules([&ahead], now).is_empty());
        // 00:30 in Amsterdam is 23:30 UTC the day before: passed.
        let passed = schedule("2027-01-01T00:30:00", Some("Europe/Amsterdam"));
        let found = passed_one_time_schedules([&passed], now);
        assert_eq!(
            found,
            [
                "schedule `launch` (`app::launch` at src/main.rs:7:1): at(2027-01-01T00:30:00) in \
              Europe/Amsterdam was 2026-12-31 23:30:00 UTC, which has passed: a one-time \
              schedule fires once, at a time ahead; give it a new time or remove it"
            ]
        );
        // The same wall-clock time in UTC is still ahead.
        assert!(
            passed_one_time_schedules([&schedule("2027-01-01T00:30:00", None)], now).is_empty()
        );
        let skipped = schedule("2027-03-28T02:30:00", Some("Europe/Amsterdam"));
        let found = passed_one_time_schedules([&skipped], now);
        assert!(
            found[0].contains("a time the clocks skip there"),
            "{found:?}"
        );
    }
}
