//! The handlers linked into this binary.

use std::sync::OnceLock;

use eventfn_core::record::conflicts;
use eventfn_core::{EventPattern, FilterPolicy, Registration};
#[cfg(any(feature = "sandbox", feature = "testing"))]
use serde_json::Value;

use crate::__private::{HANDLERS, Registered};
use crate::Result;
use crate::error::message;

/// A handler of this binary: its registration and how to call it.
pub struct Entry {
    /// The handler's registration record, as its attribute wrote it into the binary.
    pub registration: Registration,
    pub(crate) registered: &'static Registered,
    /// Its filter, checked when first asked for (see [`Entry::filter`]).
    filter: OnceLock<std::result::Result<Option<FilterPolicy>, String>>,
    /// A rule's pattern, checked when first asked for (see [`Entry::pattern`]).
    pattern: OnceLock<std::result::Result<Option<EventPattern>, String>>,
}

impl Entry {
    /// An event handler's filter, checked the first time it is asked for: the sandbox and the
    /// test kit ask, a function on Lambda never does (SNS filters there), so it costs a cold
    /// start nothing. An error if this eventfn cannot read what the macros wrote.
    pub fn filter(&self) -> Result<Option<&FilterPolicy>> {
        self.checked(
            &self.filter,
            self.registration.filter.as_ref(),
            "filter",
            FilterPolicy::from_value,
        )
    }

    /// A rule's event pattern, checked the first time it is asked for: the sandbox and the
    /// test kit ask (on AWS, EventBridge matches), and so does a function that serves every
    /// handler (`EVENTFN_HANDLER=*`), to route a rule's event. An error if this eventfn cannot
    /// read what the macros wrote.
    pub fn pattern(&self) -> Result<Option<&EventPattern>> {
        self.checked(
            &self.pattern,
            self.registration.pattern.as_ref(),
            "pattern",
            EventPattern::from_value,
        )
    }

    /// `json` (the registration's `what`) read with `read` once, into `cell`.
    fn checked<'a, T>(
        &self,
        cell: &'a OnceLock<std::result::Result<Option<T>, String>>,
        json: Option<&serde_json::Value>,
        what: &str,
        read: fn(&serde_json::Value) -> std::result::Result<T, eventfn_core::filter::FilterError>,
    ) -> Result<Option<&'a T>> {
        cell.get_or_init(|| {
            json.map(read).transpose().map_err(|e| {
                format!(
                    "handler `{}` has a {what} this eventfn cannot read ({e}): build the app with \
                     the eventfn that runs it",
                    self.registration.function
                )
            })
        })
        .as_ref()
        .map(Option::as_ref)
        .map_err(|e| message(e.clone()))
    }

    /// Whether a published payload reaches this handler: always, without a filter; with one,
    /// when the payload matches it (a payload that is not JSON matches none). A rule's payload
    /// is the whole event, which its pattern must match.
    #[cfg(any(feature = "sandbox", feature = "testing"))]
    pub(crate) fn accepts(&self, payload: &Payload<'_>) -> Result<bool> {
        let parsed = || {
            payload
                .parsed
                .get_or_init(|| serde_json::from_str(payload.body).ok())
                .as_ref()
        };
        if let Some(pattern) = self.pattern()? {
            return Ok(parsed().is_some_and(|event| pattern.matches(event)));
        }
        let Some(filter) = self.filter()? else {
            return Ok(true);
        };
        Ok(parsed().is_some_and(|p| filter.matches(p)))
    }
}

/// An event's payload as its subscribers' filters read it: parsed once, when a first filter
/// asks, however many subscribers there are.
#[cfg(any(feature = "sandbox", feature = "testing"))]
pub(crate) struct Payload<'a> {
    body: &'a str,
    parsed: std::cell::OnceCell<Option<Value>>,
}

#[cfg(any(feature = "sandbox", feature = "testing"))]
impl<'a> Payload<'a> {
    pub(crate) fn new(body: &'a str) -> Payload<'a> {
        Payload {
            body,
            parsed: std::cell::OnceCell::new(),
        }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.registration.fmt(f)
    }
}

/// The error for a message to `name` of `kind` that no handler of the app takes, as the sandbox
/// and the test kit both say it: what is missing and what the app has of that kind, with the
/// closest name when one is near; or, when `name` is the app's but of another kind (a queue
/// published to as an event, say), which kind it is and how to send to it.
#[cfg(any(feature = "sandbox", feature = "testing"))]
pub(crate) fn unknown_name<'a>(
    registrations: impl Iterator<Item = &'a Registration> + Clone,
    kind: eventfn_core::Kind,
    name: &str,
) -> String {
    use eventfn_core::Kind;
    let quoted = eventfn_core::quote::excerpt(name);
    let what = match kind {
        Kind::Event => format!("no handler of this app subscribes to event `{quoted}`"),
        Kind::Queue => format!("this app has no queue `{quoted}`"),
        Kind::Schedule => format!("this app has no schedule `{quoted}`"),
        Kind::Rule => {
            // A bus, by the name its rules give it.
            let mut buses: Vec<&str> = registrations
                .clone()
                .filter_map(|r| r.bus.as_deref())
                .collect();
            buses.sort_unstable();
            buses.dedup();
            let known = if buses.is_empty() {
                "it has no rules".to_owned()
            } else {
                format!(
                    "its rules listen on {}",
                    buses
                        .iter()
                        .map(|b| format!("`{b}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return format!(
                "no rule of this app listens on bus `{quoted}`{}: {known}",
                eventfn_core::name::did_you_mean(name, buses.iter().copied())
            );
        }
    };
    if let Some(other) = registrations
        .clone()
        .find(|r| r.kind != kind && r.name == name)
    {
        let how = match other.kind {
            Kind::Queue => "enqueue to it (`eventfn::enqueue`, `cargo eventfn publish --queue`)",
            Kind::Event => "publish to it (`eventfn::publish`, `cargo eventfn publish`)",
            Kind::Schedule => "fire it with `cargo eventfn trigger`",
            Kind::Rule => "put an event its pattern matches on its bus",
        };
        let other = match other.kind {
            Kind::Event => "an event",
            Kind::Queue => "a queue",
            Kind::Schedule => "a schedule",
            Kind::Rule => "a rule",
        };
        return format!("{what}: `{quoted}` is {other} of this app; {how}");
    }
    let mut names: Vec<&str> = registrations
        .filter(|r| r.kind == kind)
        .map(|r| r.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let suggestion = eventfn_core::name::did_you_mean(name, names.iter().copied());
    if names.is_empty() {
        format!("{what}; it has no {}s", kind.as_str())
    } else {
        format!(
            "{what}{suggestion}; its {}s are: {}",
            kind.as_str(),
            names.join(", ")
        )
    }
}

static REGISTRY: OnceLock<std::result::Result<Vec<Entry>, String>> = OnceLock::new();

/// Every handler linked into this binary, in link order; an error if there is none, if a record
/// is unreadable, or if two registrations conflict (see [`eventfn_core::record::conflicts`]).
pub fn handlers() -> Result<&'static [Entry]> {
    REGISTRY
        .get_or_init(load)
        .as_deref()
        .map_err(|e| message(e.clone()))
}

fn load() -> std::result::Result<Vec<Entry>, String> {
    let mut entries = Vec::with_capacity(HANDLERS.len());
    for registered in HANDLERS.iter() {
        let registration = Registration::parse(trim_record(registered.record))
            .map_err(|e| format!("eventfn: {e}"))?;
        entries.push(Entry {
            registration,
            registered,
            filter: OnceLock::new(),
            pattern: OnceLock::new(),
        });
    }
    if entries.is_empty() {
        return Err(
            "eventfn: no handlers are linked into this binary. Declare one with \
                    #[eventfn::event(\"name\")], #[eventfn::queue(\"name\")] or \
                    #[eventfn::schedule(\"rate(1 day)\")] on an `async fn`; if they live in a \
                    library crate, add `use that_crate as _;` to the binary so it is linked"
                .to_owned(),
        );
    }
    let registrations: Vec<Registration> = entries.iter().map(|e| e.registration.clone()).collect();
    let found = conflicts(&registrations);
    if !found.is_empty() {
        return Err(format!("eventfn: {}", found.join("; ")));
    }
    Ok(entries)
}

fn trim_record(record: &[u8]) -> &[u8] {
    record.strip_suffix(b"\n").unwrap_or(record)
}
