//! Registration records: what each `#[event]`, `#[queue]` and `#[schedule]` writes into the
//! binary, and how a set of them becomes an app's handlers.
//!
//! A record is one JSON object followed by a newline, placed in the link section
//! [`SECTION`](crate::SECTION). It holds no pointers, so it reads the same from the file on disk
//! (for `cargo eventfn build`, whatever the target, stripped or LTO'd) as from memory (for the
//! runtime). The macros write the fields they know; `function`, `file`, `line` and `column` come
//! from `module_path!()`, `file!()`, `line!()` and `column!()` at compile time.

use serde::{Deserialize, Serialize};

use crate::manifest::{Handler, Kind, MANIFEST_VERSION, Options, Source};
use crate::options::Defaults;

/// One handler as declared: only the options the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The record's format version: [`MANIFEST_VERSION`], or the record is refused.
    pub v: u32,
    /// Which attribute declared it.
    pub kind: Kind,
    /// The event or queue name, the attribute's first argument; for a schedule, its `name`
    /// option, else its function's name.
    pub name: String,
    /// A schedule's `rate(...)` or `cron(...)` expression, checked; `None` for events and queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// An event handler's filter policy, checked ([`crate::filter`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
    /// A rule's bus, checked ([`crate::pattern::Bus`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
    /// A rule's event pattern, checked ([`crate::pattern`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<serde_json::Value>,
    /// A schedule's time zone, checked ([`crate::zone`]); `None`: the app's, else UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// A schedule's flexible window, in minutes ([`crate::zone::parse_window`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flexible_window: Option<u32>,
    /// The payload type as written in the handler's signature, like `Signup`; `None` when it
    /// takes none.
    pub payload: Option<String>,
    /// Whether the handler takes an `eventfn::Context`.
    pub context: bool,
    /// The options written on the attribute.
    pub options: DeclaredOptions,
    /// The handler's Rust path, `module_path!()` and the function's name, like
    /// `welcome::send_welcome`.
    pub function: String,
    /// The source file, `file!()`: as in [`Source::file`].
    pub file: String,
    /// The attribute's line, `line!()`.
    pub line: u32,
    /// The attribute's column, `column!()`.
    pub column: u32,
    /// The sends the handler's body makes to a name written as a string literal:
    /// `publish("...")`, `enqueue("...")` (and their `_many` forms, and `ctx.publish`), as the
    /// attribute saw them. What it cannot see (a name in a variable, a send from a function the
    /// handler calls) is not here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sends: Vec<Outgoing>,
}

/// A send to a name written as a literal in a handler's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// [`Kind::Event`] for `publish`, [`Kind::Queue`] for `enqueue`, [`Kind::Rule`] for
    /// `put_event` (the name is the bus).
    pub kind: Kind,
    /// The name, as written.
    pub name: String,
    /// The literal's line, `line!()`.
    pub line: u32,
    /// The literal's column, `column!()`.
    pub column: u32,
}

/// The sends of `registrations` to a name that none of them handles, as warnings: where each
/// is, what it names, and the closest name of the app when one is near. Such a send fails in the
/// sandbox and on AWS, unless another app takes that name.
pub fn unknown_sends(registrations: &[Registration]) -> Vec<String> {
    let mut warnings = Vec::new();
    for r in registrations {
        for send in &r.sends {
            // What a send of its kind may name: a bus, for `put_event`, is its rules'.
            let names = || {
                registrations
                    .iter()
                    .filter(|other| other.kind == send.kind)
                    .filter_map(|other| match send.kind {
                        Kind::Rule => other.bus.as_deref(),
                        _ => Some(other.name.as_str()),
                    })
            };
            if names().any(|name| name == send.name) {
                continue;
            }
            let what = match send.kind {
                Kind::Queue => "no queue of this app",
                Kind::Rule => "no bus a rule of this app listens on",
                _ => "no event a handler of this app subscribes to",
            };
            let other = registrations
                .iter()
                .find(|other| {
                    send.kind != Kind::Rule && other.kind != send.kind && other.name == send.name
                })
                .map(|other| match other.kind {
                    Kind::Event => " (it is an event of this app: publish to it)".to_owned(),
                    Kind::Queue => " (it is a queue of this app: enqueue to it)".to_owned(),
                    Kind::Schedule => " (it is a schedule of this app)".to_owned(),
                    Kind::Rule => " (it is a rule of this app)".to_owned(),
                })
                .unwrap_or_else(|| crate::name::did_you_mean(&send.name, names()));
            warnings.push(format!(
                "{}:{}:{}: handler `{}` sends to `{}`, {what}{other}: the send fails in the \
                 sandbox and on AWS unless another app takes it",
                r.file,
                send.line,
                send.column,
                r.function,
                crate::quote::excerpt(&send.name),
            ));
        }
    }
    warnings
}

/// Options as written on the attribute (`None`: left to the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredOptions {
    /// `timeout`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// `retries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// `memory`, in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// `concurrency`: reserved concurrent executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// `batch_size` of a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// `fifo` of a queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
}

impl Registration {
    /// Parses every record of a section's bytes. Padding (NUL bytes) between records is skipped.
    pub fn parse_section(bytes: &[u8]) -> Result<Vec<Registration>, String> {
        bytes
            .split(|&b| b == b'\n')
            .map(|chunk| chunk.trim_ascii_start())
            .map(|chunk| {
                let start = chunk.iter().position(|&b| b != 0).unwrap_or(chunk.len());
                &chunk[start..]
            })
            .filter(|chunk| !chunk.is_empty())
            .map(Registration::parse)
            .collect()
    }

    /// Parses one record.
    pub fn parse(bytes: &[u8]) -> Result<Registration, String> {
        let text = String::from_utf8_lossy(bytes);
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let version: Version = serde_json::from_slice(bytes)
            .map_err(|e| format!("unreadable registration record ({e}): {text}"))?;
        if version.v != MANIFEST_VERSION {
            return Err(format!(
                "registration record of version {} where this tool reads version {MANIFEST_VERSION}: \
                 build the app with the same eventfn version as cargo-eventfn",
                version.v
            ));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| format!("unreadable registration record ({e}): {text}"))
    }

    /// Whether a message of `kind` to `name` is for this handler: an event, queue or schedule by
    /// its name; an event put on a bus ([`Kind::Rule`]) by the bus its rule listens on (its
    /// pattern decides then).
    pub fn takes(&self, kind: Kind, name: &str) -> bool {
        self.kind == kind
            && match kind {
                Kind::Rule => self.bus.as_deref() == Some(name),
                _ => self.name == name,
            }
    }

    /// The crate that declared the handler: the first segment of its function path.
    pub fn crate_name(&self) -> &str {
        self.function.split("::").next().unwrap_or(&self.function)
    }

    /// Where the handler is declared: its `file`, `line` and `column`.
    pub fn source(&self) -> Source {
        Source {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
        }
    }

    /// The handler with every option resolved.
    pub fn resolve(&self, defaults: &Defaults) -> Handler {
        let o = &self.options;
        let queue = self.kind == Kind::Queue;
        Handler {
            kind: self.kind,
            name: self.name.clone(),
            schedule: self.schedule.clone(),
            filter: self.filter.clone(),
            bus: self.bus.clone(),
            pattern: self.pattern.clone(),
            timezone: match self.kind {
                Kind::Schedule => self.timezone.clone().or_else(|| defaults.timezone.clone()),
                _ => None,
            },
            flexible_window: self.flexible_window,
            function: self.function.clone(),
            payload: self.payload.clone(),
            context: self.context,
            options: Options {
                timeout: o.timeout.unwrap_or(defaults.timeout),
                retries: o.retries.unwrap_or(defaults.retries),
                memory: o.memory.unwrap_or(defaults.memory),
                concurrency: o.concurrency,
                batch_size: queue.then(|| o.batch_size.unwrap_or(defaults.batch_size)),
                fifo: queue.then(|| o.fifo.unwrap_or(false)),
            },
            source: self.source(),
        }
    }
}

/// Declarations that cannot live in one app: the same function registered twice, two queues,
/// schedules or rules with one name (each is one AWS resource and has one consumer). Several handlers
/// of one event are fine: that is fan-out. Each message names both places.
pub fn conflicts(registrations: &[Registration]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, a) in registrations.iter().enumerate() {
        for b in &registrations[i + 1..] {
            if a.function == b.function {
                found.push(format!(
                    "`{}` is registered twice: at {} and at {}",
                    a.function,
                    a.source(),
                    b.source()
                ));
            } else if a.kind == b.kind && a.kind != Kind::Event && a.name == b.name {
                found.push(format!(
                    "two {}s are named `{}`: `{}` at {} and `{}` at {}; a {} has exactly one handler",
                    a.kind.as_str(),
                    a.name,
                    a.function,
                    a.source(),
                    b.function,
                    b.source(),
                    a.kind.as_str(),
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, name: &str, function: &str, line: u32) -> String {
        format!(
            r#"{{"v":1,"kind":"{kind}","name":"{name}","payload":null,"context":false,"options":{{}},"function":"{function}","file":"src/main.rs","line":{line},"column":1}}"#
        )
    }

    #[test]
    fn parses_records_between_padding() {
        let section = format!(
            "{}\n\0\0\0{}\n",
            record("event", "a", "app::one", 3),
            record("queue", "q", "app::two", 9)
        );
        let regs = Registration::parse_section(section.as_bytes()).unwrap();
        assert_eq!(regs.len(), 2);
        assert_eq!(regs[1].kind, Kind::Queue);
        assert_eq!(regs[0].crate_name(), "app");
        let queue = regs[1].resolve(&Defaults::default());
        assert_eq!(queue.options.batch_size, Some(10));
        assert_eq!(queue.options.fifo, Some(false));
        assert_eq!(
            regs[0].resolve(&Defaults::default()).options.batch_size,
            None
        );
    }

    #[test]
    fn rejects_other_versions_and_garbage() {
        let newer = record("event", "a", "app::one", 3).replace(r#""v":1"#, r#""v":2"#);
        assert!(
            Registration::parse(newer.as_bytes())
                .unwrap_err()
                .contains("version 2")
        );
        assert!(
            Registration::parse(b"{nope")
                .unwrap_err()
                .contains("unreadable")
        );
    }

    #[test]
    fn conflicts_name_both_places() {
        let regs: Vec<Registration> = [
            record("event", "a", "app::one", 3),
            record("event", "a", "app::two", 5),
            record("queue", "q", "app::three", 7),
            record("queue", "q", "app::four", 9),
            record("event", "b", "app::one", 11),
        ]
        .iter()
        .map(|r| Registration::parse(r.as_bytes()).unwrap())
        .collect();
        let found = conflicts(&regs);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains(
            "`app::one` is registered twice: at src/main.rs:3:1 and at src/main.rs:11:1"
        ));
        assert!(found[1].contains("two queues are named `q`: `app::three` at src/main.rs:7:1 and `app::four` at src/main.rs:9:1"));
    }

    #[test]
    fn sends_to_names_the_app_lacks_are_warned_of_with_where_and_the_closest_name() {
        let record = |json: &str| Registration::parse(json.as_bytes()).unwrap();
        let registrations = [
            record(
                r#"{"v":1,"kind":"event","name":"order.placed","payload":null,"context":false,"options":{},"function":"shop::bill","file":"src/lib.rs","line":3,"column":1,"sends":[{"kind":"queue","name":"invoice","line":9,"column":24},{"kind":"queue","name":"invoices","line":10,"column":24},{"kind":"event","name":"invoices","line":11,"column":24},{"kind":"event","name":"billing.done","line":12,"column":24}]}"#,
            ),
            record(
                r#"{"v":1,"kind":"queue","name":"invoices","payload":null,"context":false,"options":{},"function":"shop::invoice","file":"src/lib.rs","line":20,"column":1}"#,
            ),
        ];
        assert_eq!(
            unknown_sends(&registrations),
            [
                "src/lib.rs:9:24: handler `shop::bill` sends to `invoice`, no queue of this app \
                 (did you mean `invoices`?): the send fails in the sandbox and on AWS unless \
                 another app takes it",
                "src/lib.rs:11:24: handler `shop::bill` sends to `invoices`, no event a handler \
                 of this app subscribes to (it is a queue of this app: enqueue to it): the send \
                 fails in the sandbox and on AWS unless another app takes it",
                "src/lib.rs:12:24: handler `shop::bill` sends to `billing.done`, no event a \
                 handler of this app subscribes to: the send fails in the sandbox and on AWS \
                 unless another app takes it",
            ]
        );
    }

    #[test]
    fn puts_on_a_bus_no_rule_listens_on_are_warned_of() {
        let record = |json: &str| Registration::parse(json.as_bytes()).unwrap();
        let registrations = [
            record(
                r#"{"v":1,"kind":"event","name":"budget.submitted","payload":null,"context":false,"options":{},"function":"shop::submit","file":"src/lib.rs","line":3,"column":1,"sends":[{"kind":"rule","name":"budget","line":5,"column":24},{"kind":"rule","name":"budgets","line":6,"column":24}]}"#,
            ),
            record(
                r#"{"v":1,"kind":"rule","name":"analyse","bus":"budgets","pattern":{"source":["shop"]},"payload":null,"context":false,"options":{},"function":"shop::analyse","file":"src/lib.rs","line":20,"column":1}"#,
            ),
        ];
        assert_eq!(
            unknown_sends(&registrations),
            [
                "src/lib.rs:5:24: handler `shop::submit` sends to `budget`, no bus a rule of this \
              app listens on (did you mean `budgets`?): the send fails in the sandbox and on AWS \
              unless another app takes it"
            ]
        );
    }
}
