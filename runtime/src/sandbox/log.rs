//! The sandbox's live log: one line per delivery attempt on stdout (local time, kind and name,
//! handler, event, delivery and attempt, duration, outcome), with the `tracing` events the handler
//! emitted during that attempt indented beneath it:
//!
//! ```text
//! 14:03:07.512 event account-signup → welcome::send_welcome (event 9, delivery 14, attempt 1) 389µs ok
//! ```
//!
//! The event is the publish (its id is what `cargo eventfn publish` prints); the delivery is the
//! event's delivery to this handler (its id is what `cargo eventfn events ID` and `replay` take). What a handler prints with `println!` goes to stdout as it is printed,
//! so it appears just above its delivery's line.
//!
//! Delivery lines have colors when stdout is a terminal, unless `NO_COLOR` is set or
//! `CARGO_TERM_COLOR` says otherwise (`always`, `never`). Tracing events are plain: eventfn
//! leaves `tracing-subscriber`'s `ansi` feature off, since turning it on would also color what
//! `lambda_runtime`'s subscriber writes to CloudWatch.

use std::cell::RefCell;
use std::future::Future;
use std::io::{IsTerminal, Write};

use eventfn_core::attempt;
use tracing_subscriber::fmt::MakeWriter;

tokio::task_local! {
    /// The tracing output of the attempt running on this task.
    static CAPTURED: RefCell<Vec<u8>>;
}

/// How the sandbox writes to the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    color: bool,
    /// No delivery lines (benchmarks).
    quiet: bool,
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[1;31m";

impl Log {
    /// A log with colors when stdout is a terminal and `NO_COLOR` is not set, or as
    /// `CARGO_TERM_COLOR` (`always`, `never`) says.
    pub fn from_env() -> Log {
        let color = match std::env::var("CARGO_TERM_COLOR").as_deref() {
            Ok("always") => true,
            Ok("never") => false,
            _ => std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
        };
        Log {
            color,
            quiet: false,
        }
    }

    /// A log that writes no delivery lines: what the benchmarks use.
    pub fn quiet() -> Log {
        Log {
            color: false,
            quiet: true,
        }
    }

    fn paint(&self, style: &'static str) -> (&'static str, &'static str) {
        if self.color { (style, RESET) } else { ("", "") }
    }

    /// Sends `tracing` events to the log: beneath the delivery line of the attempt that emitted
    /// them, else straight to stdout. `RUST_LOG` filters them (default: `info`). If the app has
    /// installed a subscriber of its own, that one stays.
    pub fn install_tracing(&self) {
        use tracing_subscriber::layer::SubscriberExt as _;
        let directives = std::env::var("RUST_LOG").unwrap_or_default();
        let (filter, refused) =
            crate::log_filter::targets(&directives, tracing_subscriber::filter::LevelFilter::INFO);
        // The builder's own filter lets through all: `filter` does the filtering.
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_writer(Capture)
            .without_time()
            .with_target(false)
            .finish()
            .with(filter);
        // An app that set its own subscriber keeps it: that is not an error.
        if tracing::subscriber::set_global_default(subscriber).is_ok() {
            crate::log_filter::warn_refused(&refused);
        }
    }

    /// Whether delivery lines are left out (the benchmarks' log).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A line about the sandbox itself, like cargo's status lines.
    pub fn status(&self, word: &str, text: &str) {
        let (on, off) = self.paint(GREEN);
        let (bold, _) = self.paint(BOLD);
        println!("{on}{bold}{word:>12}{off} {text}");
    }

    /// A warning about the sandbox itself.
    pub fn warn(&self, text: &str) {
        let (on, off) = self.paint(YELLOW);
        let (bold, _) = self.paint(BOLD);
        println!("{on}{bold}warning{off}: {text}");
    }

    /// An error of the sandbox itself that does not stop it, in the live log.
    pub fn error(&self, text: &str) {
        let (on, off) = self.paint(RED);
        println!("{on}error{off}: {text}");
    }

    /// Writes one attempt's line and the tracing output captured during it, at once, so that
    /// concurrent deliveries do not interleave.
    pub fn delivery(&self, view: &attempt::View<'_>, captured: &[u8]) {
        if self.quiet {
            return;
        }
        let mut text = attempt::render(view, attempt::Paint { color: self.color });
        for captured_line in String::from_utf8_lossy(captured).lines() {
            text.push_str("    ");
            text.push_str(captured_line);
            text.push('\n');
        }
        let mut out = std::io::stdout().lock();
        // A closed stdout must not stop deliveries: the store has the record.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// An error that stops the sandbox, as cargo prints one: `error: ...` on stderr, `error` in bold
/// red when stderr is a terminal (or as `CARGO_TERM_COLOR` says, unless `NO_COLOR` is set).
pub fn error(text: &str) {
    let color = match std::env::var("CARGO_TERM_COLOR").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    };
    let (on, off) = if color { (RED, RESET) } else { ("", "") };
    eprintln!("{on}error{off}: {text}");
}

/// Runs `attempt` with its tracing output captured; returns its output and the captured bytes.
pub async fn capture<F: Future>(attempt: F) -> (F::Output, Vec<u8>) {
    CAPTURED
        .scope(RefCell::new(Vec::new()), async {
            let output = attempt.await;
            (output, CAPTURED.with(|c| c.take()))
        })
        .await
}

/// The tracing writer: into the current attempt's capture when there is one, else stdout.
struct Capture;

struct CaptureWriter;

impl<'a> MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> CaptureWriter {
        CaptureWriter
    }
}

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match CAPTURED.try_with(|c| c.borrow_mut().extend_from_slice(buf)) {
            Ok(()) => Ok(buf.len()),
            Err(_) => std::io::stdout().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// `HH:MM:SS.mmm`, in the machine's time zone: the time `cargo eventfn events` shows too.
pub(crate) fn clock(ms: u64) -> String {
    clock_in(&chrono::Local, ms)
}

fn clock_in<Z: chrono::TimeZone>(zone: &Z, ms: u64) -> String
where
    Z::Offset: std::fmt::Display,
{
    zone.timestamp_millis_opt(ms as i64).single().map_or_else(
        || format!("{ms}ms"),
        |t| t.format("%H:%M:%S%.3f").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_like_a_clock() {
        assert_eq!(clock_in(&chrono::Utc, 1_764_000_000_123), "16:00:00.123");
        let two_hours_east = chrono::FixedOffset::east_opt(7200).unwrap();
        assert_eq!(clock_in(&two_hours_east, 1_764_000_000_123), "18:00:00.123");
    }

    #[tokio::test]
    async fn tracing_output_of_an_attempt_is_captured() {
        let ((), captured) = capture(async {
            let _ = CaptureWriter.write(b"inside\n").unwrap();
        })
        .await;
        assert_eq!(captured, b"inside\n");
    }
}
