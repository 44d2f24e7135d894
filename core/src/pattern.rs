//! EventBridge: event patterns, which events of a bus a `#[rule]` handler receives, and the
//! names of the buses it may listen on.
//!
//! One definition, three users, as for [filters](crate::filter): the macros check a
//! `pattern = r#"..."#` at compile time with [`EventPattern::parse`]; `cargo eventfn build`
//! writes it into the rule's `EventPattern`; the sandbox and the test kit decide delivery with
//! [`EventPattern::matches`], so an event reaches the same handlers offline as on AWS.
//!
//! ```json
//! {
//!   "source": ["aws.s3"],
//!   "detail-type": ["Object Created"],
//!   "detail": { "bucket": { "name": ["uploads"] }, "object": { "key": [{ "suffix": ".png" }] } }
//! }
//! ```
//!
//! # Grammar
//!
//! A pattern is read against the whole event, its envelope (`source`, `detail-type`, `account`,
//! `region`, `time`, `id`, `resources`, `version`) and its `detail` alike. Its keys, arrays,
//! nesting, `$or` and the conditions of the table in [`crate::filter`] mean what they mean in an
//! SNS filter policy: both are read and matched by AWS's event-ruler, and here by one engine. On
//! top of those, EventBridge takes:
//!
//! | condition                                           | holds for a value that                         |
//! |-----------------------------------------------------|------------------------------------------------|
//! | `{"wildcard": "uploads/*.png"}`                     | is a string that `*` (any characters) fits     |
//! | `{"prefix": {"equals-ignore-case": "IMG"}}`         | is a string that begins so, ignoring case      |
//! | `{"suffix": {"equals-ignore-case": ".PNG"}}`        | is a string that ends so, ignoring case        |
//! | `{"anything-but": {"prefix": ["a", "b"]}}`          | is not a string that begins with one of these  |
//! | `{"anything-but": {"suffix": ".tmp"}}`              | is not a string that ends so                   |
//! | `{"anything-but": {"equals-ignore-case": ["x"]}}`   | is not one of these strings, ignoring case     |
//! | `{"anything-but": {"wildcard": "test/*"}}`          | is not a string that the wildcard fits         |
//!
//! In a wildcard, `\*` is a star and `\\` a backslash; two stars in a row, or a backslash
//! before anything else, are refused, as EventBridge refuses them. The `anything-but` forms let
//! through numbers, `true`, `false` and `null`, as `anything-but` with a prefix does.
//!
//! # Differences from SNS filter policies
//!
//! Kept explicit, since a policy and a pattern look alike:
//!
//! - the operators above are EventBridge's only: a filter refuses them;
//! - no limit on keys at the top and no count of combinations by depth: EventBridge instead
//!   takes at most [`MAX_ALTERNATIVES`] combinations of `$or` policies;
//! - numbers from -5·10⁹ to 5·10⁹ with six decimals, compared to six decimals (SNS: ±10⁹, five);
//! - at most [`MAX_PATTERN_CHARS`] characters (SNS: 256 KB);
//! - a pattern matches the whole event: `{"source": [...]}` is the envelope's field, where a
//!   filter's keys are all the payload's. `detail` holds what `put_event` sent.
//!
//! - `null` is a value: `{"exists": true}` matches a field that holds `null`, and
//!   `{"exists": false}` does not (an SNS filter reads `null` as absent).
//!
//! `numeric` holds only for a JSON number (`"10"` is a string), exact values never match across
//! types (`["5"]` does not match `5`), and `5` matches `5.0`: event-ruler compares the numbers.
//!
//! Why our own code: no maintained crate implements EventBridge patterns; the engine is
//! [`crate::filter`]'s, taken from AWS's docs and event-ruler's source.

use std::fmt;

use serde_json::Value;

use crate::filter::{Compiled, Dialect, FilterError};

/// The largest pattern, in characters: EventBridge's default quota.
pub const MAX_PATTERN_CHARS: usize = 2048;
/// The most combinations of `$or` policies in a pattern.
pub const MAX_ALTERNATIVES: usize = 1000;
/// The largest magnitude of a number in a pattern.
pub const MAX_NUMBER: f64 = 5e9;

/// A checked event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern(Compiled);

impl EventPattern {
    /// Reads and checks a pattern written as JSON.
    pub fn parse(text: &str) -> Result<EventPattern, FilterError> {
        Compiled::parse(text, Dialect::EventBridge).map(EventPattern)
    }

    /// Checks a pattern already read, as found in `eventfn.json` or a registration record.
    pub fn from_value(value: &Value) -> Result<EventPattern, FilterError> {
        Compiled::from_value(value, Dialect::EventBridge).map(EventPattern)
    }

    /// The pattern as JSON, for a rule's `EventPattern`.
    pub fn to_value(&self) -> &Value {
        self.0.to_value()
    }

    /// Whether an event (the whole of it: envelope and `detail`) matches.
    pub fn matches(&self, event: &Value) -> bool {
        debug_assert_eq!(self.0.dialect(), Dialect::EventBridge);
        self.0.matches(event)
    }

    /// Whether an event, as JSON text, matches; text that is not JSON never does.
    pub fn matches_json(&self, event: &str) -> bool {
        self.0.matches_json(event)
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_value())
    }
}

/// The largest event EventBridge's `PutEvents` takes, as it counts an entry's size.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// The most entries in one `PutEvents` call.
pub const MAX_ENTRIES: usize = 10;

/// The `source` of an event `put_event` puts when the call sets none.
pub const DEFAULT_SOURCE: &str = "eventfn";

/// The size EventBridge counts for an entry of `PutEvents` without a `Time` ("Calculating
/// PutEvents event entry size"): the UTF-8 bytes of its source, detail type, detail and
/// resources.
pub fn entry_size(source: &str, detail_type: &str, detail: &str, resources: &[String]) -> usize {
    source.len()
        + detail_type.len()
        + detail.len()
        + resources.iter().map(String::len).sum::<usize>()
}

/// Checks an event to put on a bus, as `PutEvents` would, so that it is refused before anything
/// is sent, with the same words wherever it is put from: its `source` (not empty, and not
/// `aws.`, which AWS keeps for its services unless `aws_sources` allows it, as the sandbox's
/// stand-ins for AWS events do), its detail type (not empty), its detail (a JSON object) and
/// its size. The error says what is wrong, to follow words like "cannot put an event on bus
/// `x`: ".
pub fn check_entry(
    source: &str,
    detail_type: &str,
    detail: &str,
    aws_sources: bool,
) -> Result<(), String> {
    if source.is_empty() {
        return Err("its source is empty: EventBridge needs one, like `shop.orders`".to_owned());
    }
    if !aws_sources && source.starts_with("aws.") {
        return Err(format!(
            "its source `{}` starts with `aws.`, which AWS keeps for its own services' events",
            crate::quote::excerpt(source)
        ));
    }
    if detail_type.is_empty() {
        return Err(
            "its detail type is empty: EventBridge needs one, like `order.placed`".to_owned(),
        );
    }
    if !detail.trim_start().starts_with('{')
        || serde_json::from_str::<serde_json::Map<String, Value>>(detail).is_err()
    {
        return Err(format!(
            "its detail is not a JSON object ({}): EventBridge takes only objects; wrap the \
             value in one, like {{\"value\": ...}}",
            crate::quote::excerpt(detail)
        ));
    }
    let size = entry_size(source, detail_type, detail, &[]);
    if size > MAX_ENTRY_BYTES {
        return Err(format!(
            "the event is {size} bytes (its source, detail type and detail): EventBridge takes at \
             most {MAX_ENTRY_BYTES}. Store large data elsewhere (S3, a database) and put its key"
        ));
    }
    Ok(())
}

/// The longest name of a bus, in characters (EventBridge's `EventBusName`).
pub const MAX_BUS_NAME_LEN: usize = 256;

/// The bus a rule listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    /// `default`: the account's default bus, where AWS services put their events.
    Default,
    /// `aws.partner/...`: a SaaS partner's bus, created in the account from the partner's event
    /// source (its name is the source's).
    Partner(String),
    /// `arn:aws:events:...:event-bus/NAME`: a bus of another stack or account, used as it is.
    Arn(String),
    /// Any other name: a bus of the app, which its template creates and `put_event` sends to.
    Own(String),
}

impl Bus {
    /// Reads and checks a bus as `#[rule(bus = "...")]` and `put_event` name it; the error says
    /// what is wrong, to follow words like "invalid bus: ".
    pub fn parse(text: &str) -> Result<Bus, String> {
        let quoted = crate::quote::excerpt(text);
        if text == "default" {
            return Ok(Bus::Default);
        }
        if text.starts_with("arn:") {
            return arn(text).map(|()| Bus::Arn(text.to_owned()));
        }
        if text.starts_with("aws.partner/") {
            let parts: Vec<&str> = text.split('/').skip(1).collect();
            if parts.len() < 2 || parts.iter().any(|p| p.is_empty() || !bus_chars(p)) {
                return Err(format!(
                    "`{quoted}` is not a partner bus: its name is its partner event source's, \
                     like `aws.partner/example.com/123456789012/orders`: `aws.partner` and at \
                     least two more parts of letters, digits, `.`, `-` and `_`, joined by `/`"
                ));
            }
            if text.chars().count() > MAX_BUS_NAME_LEN {
                return Err(format!(
                    "`{quoted}` is longer than {MAX_BUS_NAME_LEN} characters, EventBridge's limit \
                     for a bus name"
                ));
            }
            return Ok(Bus::Partner(text.to_owned()));
        }
        if text.to_ascii_lowercase().starts_with("aws.") {
            return Err(format!(
                "`{quoted}` starts with `aws.`, which only partner buses (`aws.partner/...`) may: \
                 name a bus of the app otherwise"
            ));
        }
        crate::validate_name(text).map_err(|e| {
            format!(
                "{e}; a bus is `default`, a partner bus `aws.partner/...`, the ARN of a bus, or a \
                 name for a bus of the app"
            )
        })?;
        Ok(Bus::Own(text.to_owned()))
    }

    /// The name as written: `default`, a partner bus's or an app bus's name, or the ARN.
    pub fn as_str(&self) -> &str {
        match self {
            Bus::Default => "default",
            Bus::Partner(name) | Bus::Arn(name) | Bus::Own(name) => name,
        }
    }
}

impl fmt::Display for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The characters of a bus name that is not a partner's: `[.\-_A-Za-z0-9]`.
fn bus_chars(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Checks an event bus ARN: `arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME`.
fn arn(text: &str) -> Result<(), String> {
    let quoted = crate::quote::excerpt(text);
    let usage = "an event bus ARN reads `arn:aws:events:REGION:ACCOUNT:event-bus/NAME`";
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(format!("`{quoted}` is not an ARN: {usage}"));
    };
    if !partition.starts_with("aws") || *service != "events" {
        return Err(format!(
            "`{quoted}` is not an EventBridge ARN ({usage}); its service is `{}`",
            crate::quote::excerpt(service)
        ));
    }
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
    {
        return Err(format!("`{quoted}` has no valid region: {usage}"));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{quoted}` has no valid account: an account is 12 digits; {usage}"
        ));
    }
    let Some(name) = resource.strip_prefix("event-bus/") else {
        return Err(format!(
            "`{quoted}` is not an event bus's ARN ({usage}): a rule listens on a bus"
        ));
    };
    let partner = name.starts_with("aws.partner/");
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_BUS_NAME_LEN
        && if partner {
            name.split('/')
                .skip(1)
                .all(|p| !p.is_empty() && bus_chars(p))
        } else {
            bus_chars(name)
        };
    if !valid {
        return Err(format!(
            "`{quoted}` names no valid bus: a bus name is 1 to {MAX_BUS_NAME_LEN} letters, \
             digits, `.`, `-` and `_` (and `/` in a partner bus's)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
