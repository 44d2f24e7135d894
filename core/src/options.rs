//! Handler options (`timeout`, `retries`, `memory`, `concurrency`, `batch_size`, `fifo`, `name`):
//! their keys, which kinds take them, their bounds and their defaults.
//!
//! The bounds are those the AWS wiring can honor, so a value accepted at compile time deploys:
//!
//! | option        | values                      | why the bound                                              |
//! |---------------|-----------------------------|------------------------------------------------------------|
//! | `timeout`     | `"1s"` ..= `"15m"`          | Lambda's maximum timeout is 900 s                          |
//! | `retries`     | `0` ..= `999`               | each handler is fed by its own SQS queue whose redrive `maxReceiveCount` is `retries + 1`, at most 1000 |
//! | `memory`      | `128` ..= `10240` (MB)      | Lambda's memory range                                      |
//! | `concurrency` | `1` ..= `1000`              | reserved concurrency within the default account limit      |
//! | `batch_size`  | `1` ..= `10000`, `..=10` with `fifo` | SQS event source mapping limits                   |
//!
//! `filter` (events only) is an Amazon SNS filter policy on the payload, checked by
//! [`crate::filter`] against SNS's own limits. `bus` and `pattern` (rules only, and both
//! required there) are the EventBridge bus a rule listens on and its event pattern, checked by
//! [`crate::pattern`].

use crate::manifest::Kind;

/// Every option key, declared once: the macros, the runtime and `cargo eventfn` name them alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKey {
    /// `timeout`: how long an attempt may run, like `"10s"` ([`parse_timeout`]).
    Timeout,
    /// `retries`: how many times a failed delivery is tried again ([`check_retries`]).
    Retries,
    /// `memory`: the function's memory, in MB ([`check_memory`]).
    Memory,
    /// `concurrency`: the function's reserved concurrent executions ([`check_concurrency`]).
    Concurrency,
    /// `batch_size`: a queue's most messages per invocation ([`check_batch_size`]).
    BatchSize,
    /// `fifo`: whether a queue is a FIFO queue.
    Fifo,
    /// `name`: a schedule's name, instead of its function's.
    Name,
    /// `filter`: an event handler's SNS filter policy on the payload ([`crate::filter`]).
    Filter,
    /// `bus`: the EventBridge bus a rule listens on ([`crate::pattern::Bus`]).
    Bus,
    /// `pattern`: a rule's EventBridge event pattern ([`crate::pattern`]).
    Pattern,
    /// `timezone`: the IANA time zone a schedule's expression is read in ([`crate::zone`]).
    Timezone,
    /// `flexible_window`: how late a schedule may fire ([`crate::zone::parse_window`]).
    FlexibleWindow,
}

impl OptionKey {
    /// Every key, in the order [`OptionKey::list_for`] lists them.
    pub const ALL: [OptionKey; 12] = [
        OptionKey::Bus,
        OptionKey::Pattern,
        OptionKey::Timezone,
        OptionKey::FlexibleWindow,
        OptionKey::Timeout,
        OptionKey::Retries,
        OptionKey::Memory,
        OptionKey::Concurrency,
        OptionKey::BatchSize,
        OptionKey::Fifo,
        OptionKey::Name,
        OptionKey::Filter,
    ];

    /// The key as written on the attribute, like `batch_size`.
    pub fn as_str(self) -> &'static str {
        match self {
            OptionKey::Timeout => "timeout",
            OptionKey::Retries => "retries",
            OptionKey::Memory => "memory",
            OptionKey::Concurrency => "concurrency",
            OptionKey::BatchSize => "batch_size",
            OptionKey::Fifo => "fifo",
            OptionKey::Name => "name",
            OptionKey::Filter => "filter",
            OptionKey::Bus => "bus",
            OptionKey::Pattern => "pattern",
            OptionKey::Timezone => "timezone",
            OptionKey::FlexibleWindow => "flexible_window",
        }
    }

    /// The key [`OptionKey::as_str`] writes as `key`; `None` for a key that is not an option.
    pub fn parse(key: &str) -> Option<OptionKey> {
        OptionKey::ALL.into_iter().find(|k| k.as_str() == key)
    }

    /// Whether handlers of `kind` take this option.
    pub fn applies_to(self, kind: Kind) -> bool {
        match self {
            OptionKey::Timeout
            | OptionKey::Retries
            | OptionKey::Memory
            | OptionKey::Concurrency => true,
            OptionKey::BatchSize | OptionKey::Fifo => kind == Kind::Queue,
            // Events and queues are named by the attribute's first argument; a schedule or a rule
            // is named after its function unless `name` says otherwise.
            OptionKey::Name => kind.named_by_function(),
            // Only events fan out through SNS, whose subscriptions filter.
            OptionKey::Filter => kind == Kind::Event,
            OptionKey::Bus | OptionKey::Pattern => kind == Kind::Rule,
            OptionKey::Timezone | OptionKey::FlexibleWindow => kind == Kind::Schedule,
        }
    }

    /// The keys `kind` takes, for error messages.
    pub fn list_for(kind: Kind) -> String {
        let keys: Vec<String> = OptionKey::ALL
            .into_iter()
            .filter(|k| k.applies_to(kind))
            .map(|k| format!("`{}`", k.as_str()))
            .collect();
        keys.join(", ")
    }
}

/// The longest `timeout`, in seconds: Lambda's 15 minutes.
pub const MAX_TIMEOUT_SECS: u64 = 900;
/// The most `retries`: the redrive `maxReceiveCount` of the handler's queue, `retries + 1`, is at
/// most 1000.
pub const MAX_RETRIES: u64 = 999;
/// The `memory` Lambda takes, in MB.
pub const MEMORY_MB: std::ops::RangeInclusive<u64> = 128..=10_240;
/// The largest `concurrency`: the default account limit of concurrent executions.
pub const MAX_CONCURRENCY: u64 = 1_000;
/// The largest `batch_size` of a standard queue's SQS event source mapping.
pub const MAX_BATCH_SIZE: u64 = 10_000;
/// The largest `batch_size` of a FIFO queue's SQS event source mapping.
pub const MAX_FIFO_BATCH_SIZE: u64 = 10;

/// Parses a timeout such as `"10s"`, `"5m"` or `"1m30s"` into whole seconds, 1 to 900.
pub fn parse_timeout(text: &str) -> Result<u32, String> {
    let usage = "write it like \"10s\", \"5m\" or \"1m30s\"";
    if text.is_empty() {
        return Err(format!("timeout is empty: {usage}"));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("timeout `{text}` is not a duration: {usage}"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("timeout `{text}` is too large: at most 15m (900s)"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let seconds = match &rest[..unit_len] {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "ms" => {
                return Err(format!(
                    "timeout `{text}` is in milliseconds: Lambda counts timeouts in whole seconds; {usage}"
                ));
            }
            "" if rest.is_empty() => return Err(format!("timeout `{text}` has no unit: {usage}")),
            "" => return Err(format!("timeout `{text}` is not a duration: {usage}")),
            unit => {
                return Err(format!(
                    "timeout unit `{unit}` in `{text}` is not `s`, `m` or `h`: {usage}"
                ));
            }
        };
        rest = &rest[unit_len..];
        total = total.saturating_add(number.saturating_mul(seconds));
    }
    if total == 0 {
        return Err(format!("timeout `{text}` is zero: it must be at least 1s"));
    }
    if total > MAX_TIMEOUT_SECS {
        return Err(format!(
            "timeout `{text}` is {total}s: Lambda allows at most 15m (900s)"
        ));
    }
    Ok(total as u32)
}

/// Checks `retries`: 0 to 999.
pub fn check_retries(n: u64) -> Result<u32, String> {
    if n > MAX_RETRIES {
        return Err(format!(
            "retries = {n} is too many: at most {MAX_RETRIES} (SQS redrives after at most 1000 receives)"
        ));
    }
    Ok(n as u32)
}

/// How long SQS keeps a message at most, in seconds: 14 days.
pub const MAX_RETENTION_SECS: u64 = 14 * 24 * 3600;

/// Checks that all of a handler's attempts fit in the time SQS keeps a message. On AWS the
/// attempts are spaced by the visibility timeout of the handler's queue, 6 × its timeout (Lambda's
/// rule for SQS sources): `retries + 1` attempts take up to `(retries + 1) × 6 × timeout`. Past
/// 14 days the message would expire, neither retried nor a dead letter, so `retries` would not
/// mean what it says.
pub fn check_retry_window(retries: u32, timeout: u32) -> Result<(), String> {
    let attempts = u64::from(retries) + 1;
    let window = attempts * 6 * u64::from(timeout);
    if window > MAX_RETENTION_SECS {
        let most = MAX_RETENTION_SECS / (6 * u64::from(timeout)) - 1;
        return Err(format!(
            "retries = {retries} with a timeout of {timeout}s spans up to {attempts} × 6 × \
             {timeout}s = {} hours on AWS (attempts are spaced by 6 × the timeout), more than the \
             14 days SQS keeps a message: with this timeout, at most retries = {most}",
            window / 3600
        ));
    }
    Ok(())
}

/// Checks `memory` in MB: 128 to 10240.
pub fn check_memory(n: u64) -> Result<u32, String> {
    if !MEMORY_MB.contains(&n) {
        return Err(format!(
            "memory = {n} is out of range: Lambda takes {} to {} MB",
            MEMORY_MB.start(),
            MEMORY_MB.end()
        ));
    }
    Ok(n as u32)
}

/// Checks `concurrency` (reserved concurrent executions): 1 to 1000.
pub fn check_concurrency(n: u64) -> Result<u32, String> {
    if n == 0 || n > MAX_CONCURRENCY {
        return Err(format!(
            "concurrency = {n} is out of range: 1 to {MAX_CONCURRENCY} concurrent executions"
        ));
    }
    Ok(n as u32)
}

/// Checks `batch_size`: 1 to 10000, or 1 to 10 for a FIFO queue.
pub fn check_batch_size(n: u64, fifo: bool) -> Result<u32, String> {
    if fifo && !(1..=MAX_FIFO_BATCH_SIZE).contains(&n) {
        return Err(format!(
            "batch_size = {n} is out of range for a FIFO queue: 1 to {MAX_FIFO_BATCH_SIZE}"
        ));
    }
    if !(1..=MAX_BATCH_SIZE).contains(&n) {
        return Err(format!(
            "batch_size = {n} is out of range: 1 to {MAX_BATCH_SIZE}"
        ));
    }
    Ok(n as u32)
}

/// Values for options a handler leaves out. App-wide `timeout` and `memory` may come from
/// `[package.metadata.eventfn]`; the others are fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `timeout`, in seconds: 5, or `timeout` of `[package.metadata.eventfn]` (in the sandbox,
    /// `EVENTFN_SANDBOX_TIMEOUT`).
    pub timeout: u32,
    /// `memory`, in MB: 1024, or `memory` of `[package.metadata.eventfn]`.
    pub memory: u32,
    /// `retries`: 2.
    pub retries: u32,
    /// A queue's `batch_size`: 10.
    pub batch_size: u32,
    /// A schedule's `timezone`: UTC (`None`), or `timezone` of `[package.metadata.eventfn]`.
    pub timezone: Option<String>,
}

impl Default for Defaults {
    /// 5 s timeout (Ampt's and Architect's default), 1024 MB, 2 retries (three attempts, as
    /// Lambda's asynchronous invocations make), batches of 10 (SQS's default).
    fn default() -> Self {
        Defaults {
            timeout: 5,
            memory: 1024,
            retries: 2,
            batch_size: 10,
            timezone: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attempt_fits_in_the_time_sqs_keeps_a_message() {
        check_retry_window(999, 5).unwrap();
        check_retry_window(223, 900).unwrap();
        let err = check_retry_window(224, 900).unwrap_err();
        assert!(err.contains("at most retries = 223"), "{err}");
        assert!(err.contains("225 × 6 × 900s = 337 hours"), "{err}");
        check_retry_window(0, 900).unwrap();
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("10s"), Ok(10));
        assert_eq!(parse_timeout("5m"), Ok(300));
        assert_eq!(parse_timeout("1m30s"), Ok(90));
        assert_eq!(parse_timeout("15m"), Ok(900));
        assert!(parse_timeout("16m").unwrap_err().contains("at most 15m"));
        assert!(parse_timeout("1h").unwrap_err().contains("3600s"));
        assert!(parse_timeout("0s").unwrap_err().contains("zero"));
        assert!(parse_timeout("10").unwrap_err().contains("no unit"));
        assert!(parse_timeout("500ms").unwrap_err().contains("milliseconds"));
        assert!(
            parse_timeout("10 s")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            parse_timeout("10d")
                .unwrap_err()
                .contains("`d` in `10d` is not `s`, `m` or `h`")
        );
        assert!(parse_timeout("ten").unwrap_err().contains("not a duration"));
        assert!(parse_timeout("").unwrap_err().contains("empty"));
        assert!(
            parse_timeout("99999999999999999999s")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn bounds() {
        assert_eq!(check_retries(0), Ok(0));
        assert_eq!(check_retries(999), Ok(999));
        assert!(check_retries(1000).is_err());
        assert!(check_memory(127).is_err());
        assert_eq!(check_memory(10_240), Ok(10_240));
        assert!(check_memory(10_241).is_err());
        assert!(check_concurrency(0).is_err());
        assert_eq!(check_batch_size(10_000, false), Ok(10_000));
        assert!(check_batch_size(11, true).unwrap_err().contains("FIFO"));
        assert!(check_batch_size(0, false).is_err());
    }

    #[test]
    fn keys_by_kind() {
        assert_eq!(OptionKey::parse("batch_size"), Some(OptionKey::BatchSize));
        assert_eq!(OptionKey::parse("timeout_secs"), None);
        assert!(!OptionKey::Fifo.applies_to(Kind::Event));
        assert!(OptionKey::Fifo.applies_to(Kind::Queue));
        assert!(OptionKey::Filter.applies_to(Kind::Event));
        assert!(!OptionKey::Filter.applies_to(Kind::Queue));
        assert_eq!(
            OptionKey::list_for(Kind::Event),
            "`timeout`, `retries`, `memory`, `concurrency`, `filter`"
        );
    }
}
