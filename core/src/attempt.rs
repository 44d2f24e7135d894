//! One attempt at a delivery, as the live logs show it.
//!
//! The sandbox prints a line per attempt; on Lambda the runtime writes the same attempt as one
//! JSON object on a line of its own ([`Attempt`]), which CloudWatch Logs Insights reads as
//! fields (`filter eventfn = "attempt" and outcome != "ok"`) and `cargo eventfn logs` shows as
//! the sandbox's line ([`render`]), the handler's own output beneath it:
//!
//! ```text
//! 14:03:07.512 event account-signup → welcome::send_welcome (event 9, delivery 14, attempt 1) 389µs ok
//! 14:03:07.512 event account-signup → welcome::send_welcome (event 5f1c0a52-…, attempt 1) 389µs ok
//! ```

use serde::{Deserialize, Serialize};

use crate::Kind;
use crate::sandbox::duration_us;

/// The value of [`Attempt::eventfn`]: what tells an attempt's line from a handler's own output.
pub const ATTEMPT: &str = "attempt";

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The handler succeeded.
    Ok,
    /// The handler failed, and the message is tried again.
    Retry,
    /// The handler failed on its last attempt (or in a way no attempt can mend): the message
    /// goes to the dead letters.
    Dead,
}

/// One attempt as the runtime writes it on Lambda: a JSON object on one line of stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// Always [`ATTEMPT`].
    pub eventfn: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub time: u64,
    /// The handler's trigger.
    pub kind: Kind,
    /// The event, queue or schedule name.
    pub name: String,
    /// The handler's Rust path.
    pub handler: String,
    /// The message's id: what the handler's `Context::id()` said.
    pub id: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// What became of it.
    pub outcome: Outcome,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Attempt {
    /// Reads an attempt's line; `None` for any other line (a handler's output, Lambda's own).
    pub fn parse(line: &str) -> Option<Attempt> {
        let line = line.trim();
        // Only a line that may be one is parsed: most lines of a log are not.
        if !line.starts_with('{') || !line.contains(r#""eventfn""#) {
            return None;
        }
        serde_json::from_str::<Attempt>(line)
            .ok()
            .filter(|a| a.eventfn == ATTEMPT)
    }

    /// The line to write.
    pub fn to_line(&self) -> String {
        // A struct of strings and numbers always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// As the live log shows it, its time already read as `clock` (`HH:MM:SS.mmm`, local) and
    /// named by `ids` (`event <id>`).
    pub fn view<'a>(&'a self, clock: &'a str, ids: &'a str) -> View<'a> {
        let (outcome, error) = match self.outcome {
            Outcome::Ok => (Shown::Ok, None),
            Outcome::Retry => (Shown::Retry(None), self.error.as_deref()),
            Outcome::Dead => (Shown::Dead, self.error.as_deref()),
        };
        View {
            clock,
            kind: self.kind.as_str(),
            name: &self.name,
            handler: &self.handler,
            ids,
            attempt: self.attempt,
            duration_us: self.duration_us,
            outcome,
            error,
        }
    }
}

/// What became of an attempt, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The handler succeeded.
    Ok,
    /// Failed, to be retried: after this many milliseconds when known (the sandbox knows; on
    /// Lambda the queue's visibility timeout decides).
    Retry(Option<u64>),
    /// Failed on its last attempt: a dead letter.
    Dead,
}

/// One attempt's line, whichever log it comes from.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// When it started, `HH:MM:SS.mmm`.
    pub clock: &'a str,
    /// `event`, `queue`, `schedule` or `rule`.
    pub kind: &'a str,
    /// The event, queue or schedule name.
    pub name: &'a str,
    /// The handler's Rust path.
    pub handler: &'a str,
    /// The ids that name it: `event 9, delivery 14` in the sandbox, `event <message id>` on
    /// Lambda.
    pub ids: &'a str,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// What became of it.
    pub outcome: Shown,
    /// Why it failed.
    pub error: Option<&'a str>,
}

/// Terminal styles, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    /// Whether to color the line (for a terminal).
    pub color: bool,
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[1;31m";
const CYAN: &str = "\x1b[36m";

impl Paint {
    fn style(self, style: &'static str) -> (&'static str, &'static str) {
        if self.color { (style, RESET) } else { ("", "") }
    }
}

/// The attempt's line and, when it failed, its error on the next, each ending in `\n`:
///
/// ```text
/// 14:03:07.512 event account-signup → welcome::audit (event 9, delivery 14, attempt 1) 2.1ms failed, retry in 1s
///     error: audit log is full
/// ```
pub fn render(view: &View<'_>, paint: Paint) -> String {
    let (dim, off) = paint.style(DIM);
    let (cyan, _) = paint.style(CYAN);
    let (outcome, color) = match view.outcome {
        Shown::Ok => ("ok".to_owned(), GREEN),
        Shown::Retry(Some(wait_ms)) => (
            format!("failed, retry in {}", crate::sandbox::duration_ms(wait_ms)),
            YELLOW,
        ),
        Shown::Retry(None) => ("failed, to be retried".to_owned(), YELLOW),
        Shown::Dead => ("failed, dead letter".to_owned(), RED),
    };
    let (on, _) = paint.style(color);
    let mut text = format!(
        "{dim}{}{off} {} {cyan}{}{off} → {} {dim}({}, attempt {}){off} {} {on}{outcome}{off}\n",
        view.clock,
        view.kind,
        view.name,
        view.handler,
        view.ids,
        view.attempt,
        duration_us(view.duration_us),
    );
    if let Some(error) = view.error {
        text.push_str(&format!("    {on}error{off}: {error}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Attempt {
        Attempt {
            eventfn: ATTEMPT.to_owned(),
            time: 1_764_000_000_123,
            kind: Kind::Event,
            name: "account-signup".to_owned(),
            handler: "welcome::audit".to_owned(),
            id: "5f1c0a52".to_owned(),
            attempt: 4,
            duration_us: 2_100,
            outcome: Outcome::Dead,
            error: Some("audit log is full".to_owned()),
        }
    }

    #[test]
    fn an_attempts_line_is_one_json_object_read_back_as_it_was_written() {
        let attempt = failed();
        let line = attempt.to_line();
        assert!(!line.contains('\n'));
        assert_eq!(
            line,
            r#"{"eventfn":"attempt","time":1764000000123,"kind":"event","name":"account-signup","handler":"welcome::audit","id":"5f1c0a52","attempt":4,"durationUs":2100,"outcome":"dead","error":"audit log is full"}"#
        );
        assert_eq!(Attempt::parse(&line), Some(attempt));
        let ok = Attempt {
            outcome: Outcome::Ok,
            error: None,
            ..failed()
        };
        assert!(!ok.to_line().contains("error"));
        assert_eq!(
            Attempt::parse(&format!("  {}\n", ok.to_line())),
            Some(ok.clone())
        );
        // As another writer spaces it.
        let spaced = serde_json::to_string_pretty(&ok).unwrap().replace('\n', "");
        assert_eq!(Attempt::parse(&spaced), Some(ok));
    }

    #[test]
    fn other_lines_are_not_attempts() {
        for line in [
            "welcome, ada@example.com",
            r#"{"level":"INFO","message":"hello"}"#,
            r#"{"eventfn":"attempt"}"#,
            r#"{"eventfn":"something else","time":1}"#,
            "START RequestId: 1 Version: $LATEST",
            r#"{"eventfn": "attempt", "time": "soon"}"#,
        ] {
            assert_eq!(Attempt::parse(line), None, "{line}");
        }
    }

    #[test]
    fn an_attempt_reads_as_the_sandboxs_line() {
        let attempt = failed();
        let ids = format!("event {}", attempt.id);
        let text = render(&attempt.view("16:00:00.123", &ids), Paint { color: false });
        assert_eq!(
            text,
            "16:00:00.123 event account-signup → welcome::audit (event 5f1c0a52, attempt 4) 2.1ms failed, dead letter\n    error: audit log is full\n"
        );
        let retried = Attempt {
            outcome: Outcome::Retry,
            ..failed()
        };
        assert!(
            render(&retried.view("16:00:00.123", &ids), Paint { color: false })
                .contains("2.1ms failed, to be retried\n    error: audit log is full\n")
        );
        let colored = render(&attempt.view("16:00:00.123", &ids), Paint { color: true });
        assert!(
            colored.contains("\x1b[1;31mfailed, dead letter\x1b[0m"),
            "{colored}"
        );
    }
}
