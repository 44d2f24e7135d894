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

/// The longest error kept: message attributes count against the 256 KB of a message, of which
/// eventfn keeps 1 KB for its own.
pub const MAX_ERROR_BYTES: usize = 512;

/// `error` cut to [`MAX_ERROR_BYTES`] at a character boundary, marked with `…` when cut.
pub fn shorten(error: &str) -> String {
    if error.len() <= MAX_ERROR_BYTES {
        return error.to_owned();
    }
    let mut end = MAX_ERROR_BYTES - '…'.len_utf8();
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

    #[test]
    fn times_read_as_eventbridge_writes_them() {
        assert_eq!(rfc3339(1_795_514_400_999), "2026-11-24T10:00:00Z");
    }

    #[test]
    fn long_errors_are_cut_at_a_character() {
        assert_eq!(shorten("short"), "short");
        let long = "é".repeat(400);
        let cut = shorten(&long);
        assert!(cut.len() <= MAX_ERROR_BYTES, "{}", cut.len());
        assert!(cut.ends_with('…'));
        assert!(long.starts_with(cut.trim_end_matches('…')));
    }
}
