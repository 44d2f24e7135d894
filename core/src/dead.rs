//! Dead letters on AWS: what a message that failed every attempt carries, so that
//! `cargo eventfn events --stage NAME --dead` can say what failed, where and why.
//!
//! SQS's redrive moves a message to a dead-letter queue as it is, with no word of why it failed.
//! So a function that fails a message on its last attempt (`EVENTFN_ATTEMPTS`, which the
//! template sets to `retries + 1`, the queue's `maxReceiveCount`) sends it to its dead-letter
//! queue (`EVENTFN_DEAD_LETTERS`) itself, with the attributes below, and reports it handled. What
//! the function cannot report (Lambda ended it at its timeout, or that send failed) still reaches
//! the dead-letter queue by redrive, without them.

/// The environment variable holding the URL of the function's dead-letter queue.
pub const DEAD_LETTERS_ENV: &str = "EVENTFN_DEAD_LETTERS";

/// The environment variable holding how many attempts a message gets: `retries + 1`.
pub const ATTEMPTS_ENV: &str = "EVENTFN_ATTEMPTS";

/// Why the last attempt failed.
pub const ERROR_ATTRIBUTE: &str = "eventfn.error";

/// How many attempts were made.
pub const ATTEMPTS_ATTRIBUTE: &str = "eventfn.attempts";

/// The Rust path of the handler that failed.
pub const HANDLER_ATTRIBUTE: &str = "eventfn.handler";

/// The longest error kept, when the other attributes leave room for it.
pub const MAX_ERROR_BYTES: usize = 512;

/// What SQS counts of a message attribute against the message's size: its name, its data type
/// and its value.
pub fn attribute_size(name: &str, data_type: &str, value: &str) -> usize {
    name.len() + data_type.len() + value.len()
}

/// `error`, cut at a character boundary (and marked with `…`) to what fits beside the
/// attributes `others` (name, data type, value) in the room eventfn keeps for its attributes,
/// `256 KB - MAX_PAYLOAD_BYTES`, and to at most [`MAX_ERROR_BYTES`]: so a dead letter of a
/// payload as large as a publish allows still fits in a message, however long the event name
/// and the handler's path are.
pub fn shorten(error: &str, others: &[(&str, &str, String)]) -> String {
    let room = 256 * 1024 - crate::MAX_PAYLOAD_BYTES;
    let taken: usize = others
        .iter()
        .map(|(name, data_type, value)| attribute_size(name, data_type, value))
        .sum::<usize>()
        + attribute_size(ERROR_ATTRIBUTE, "String", "");
    let limit = room.saturating_sub(taken).min(MAX_ERROR_BYTES);
    if error.len() <= limit {
        return error.to_owned();
    }
    let Some(mut end) = limit.checked_sub('…'.len_utf8()) else {
        return String::new();
    };
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &error[..end])
}

/// `ms` (since the Unix epoch) as an RFC 3339 UTC time, as EventBridge writes an event's time.
pub fn rfc3339(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME_ATTRIBUTE_FOR_TEST: &str = "eventfn.name";

    #[test]
    fn times_read_as_eventbridge_writes_them() {
        assert_eq!(rfc3339(1_795_514_400_999), "2026-11-24T10:00:00Z");
    }

    #[test]
    fn long_errors_are_cut_at_a_character() {
        assert_eq!(shorten("short", &[]), "short");
        let long = "é".repeat(400);
        let cut = shorten(&long, &[]);
        assert!(cut.len() <= MAX_ERROR_BYTES, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
    }

    #[test]
    fn the_error_gets_what_the_other_attributes_leave() {
        let others = [
            (NAME_ATTRIBUTE_FOR_TEST, "String", "e".repeat(240)),
            ("eventfn.time", "Number", u64::MAX.to_string()),
            ("eventfn.delay", "Number", u64::MAX.to_string()),
            (ATTEMPTS_ATTRIBUTE, "Number", u32::MAX.to_string()),
            (HANDLER_ATTRIBUTE, "String", "h".repeat(400)),
        ];
        let cut = shorten(&"x".repeat(2000), &others);
        let all: usize = others
            .iter()
            .map(|(n, t, v)| attribute_size(n, t, v))
            .sum::<usize>()
            + attribute_size(ERROR_ATTRIBUTE, "String", &cut);
        assert!(all <= 1024, "{all}");
        assert!(
            cut.len() < MAX_ERROR_BYTES && cut.len() > 200,
            "{}",
            cut.len()
        );
        // No room at all: no error rather than a message SQS refuses.
        let crowded = [(HANDLER_ATTRIBUTE, "String", "h".repeat(1100))];
        assert_eq!(shorten("why", &crowded), "");
    }
}
