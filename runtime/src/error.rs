//! Errors, and how they quote what they were given: bounded (see [`eventfn_core::quote`]), so
//! that a payload field of megabytes never becomes an error message, a log line or a Lambda error
//! response of megabytes.

use std::borrow::Cow;
use std::fmt;

use eventfn_core::quote::{MAX_QUOTED_CHARS, excerpt, excerpt_to};

/// The error type of handlers and of eventfn's own calls.
///
/// Any error type converts into it with `?`, and so do strings: `Err("why".into())`.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result<T, eventfn::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A payload that does not deserialize into the handler's type.
#[derive(Debug)]
pub struct PayloadError {
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) handler: String,
    pub(crate) payload_type: String,
    pub(crate) path: String,
    pub(crate) source: serde_json::Error,
}

impl PayloadError {
    /// The path of the field that failed, like `user.email` or `items[2].id` (`.` for the root).
    pub fn field(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}`: handler `{}` cannot read the payload as `{}`: ",
            self.kind, self.name, self.handler, self.payload_type
        )?;
        if self.path != "." {
            write!(f, "field `{}`: ", excerpt(&self.path))?;
        }
        f.write_str(&json_error(&self.source))
    }
}

impl std::error::Error for PayloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A failure that retrying cannot mend: the delivery goes to the dead letters at once, whatever
/// attempts its handler's `retries` leave. Made by [`permanent`](crate::permanent).
#[derive(Debug)]
pub struct Permanent(Error);

impl fmt::Display for Permanent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Permanent {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Says that an attempt failed for good: the delivery becomes a dead letter now, without the
/// retries its handler's `retries` would give it, in the sandbox and on AWS alike. For what no
/// later attempt can change: a record that does not exist, input the handler refuses. Takes an
/// error or a string, as `?` and `.into()` do.
///
/// ```
/// # #[derive(serde::Deserialize)] struct Order { id: String, total: i64 }
/// #[eventfn::event("order.placed", retries = 5)]
/// async fn bill(order: Order) -> eventfn::Result<()> {
///     if order.total < 0 {
///         // Five more attempts would fail the same way.
///         return Err(eventfn::permanent(format!("order {} has a negative total", order.id)));
///     }
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub fn permanent(why: impl Into<Error>) -> Error {
    Box::new(Permanent(why.into()))
}

/// An error that is only a message: its `Debug` is its text, so that `main` returning it prints
/// `Error: <message>` rather than a quoted string.
pub(crate) struct Message(pub(crate) String);

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// An [`Error`] made of a message.
pub(crate) fn message(text: impl Into<String>) -> Error {
    Box::new(Message(text.into()))
}

/// The most characters of what a handler said (its error, or its panic's message) that a failure
/// quotes: more than a quoted value gets, since it is the handler's own account of what went
/// wrong, but bounded all the same.
pub(crate) const MAX_HANDLER_ERROR_CHARS: usize = 1_000;

/// What a handler said, as a failure quotes it: cut at [`MAX_HANDLER_ERROR_CHARS`].
pub(crate) fn handler_said(text: &str) -> Cow<'_, str> {
    // Not through `bounded`: a handler's own text may hold a lone quote or backtick, which
    // would make the rest of it read as one quoted value, cut at 200 characters.
    excerpt_to(text, MAX_HANDLER_ERROR_CHARS)
}

/// A `serde_json` error as eventfn quotes it: serde's message with every value it quotes cut
/// (see [`bounded`]), then where it happened (`at line 1 column 7`).
///
/// serde quotes the offending value whole: `invalid type: string "…5 MB…", expected u32`, or
/// ``unknown variant `…`, expected one of ...``.
pub(crate) fn json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&position) {
        Some(message) if error.line() != 0 => format!(
            "{}{position}",
            excerpt_to(&bounded(message), 4 * MAX_QUOTED_CHARS)
        ),
        _ => excerpt_to(&bounded(&text), 4 * MAX_QUOTED_CHARS).into_owned(),
    }
}

/// `text` with each value it quotes, between `"` (escaped as Rust's `Debug` escapes, as serde
/// quotes strings) or between backticks (as serde quotes names), cut by [`excerpt`].
pub(crate) fn bounded(text: &str) -> Cow<'_, str> {
    // Quick exit: nothing quoted can be longer than the bound.
    if text.len() <= MAX_QUOTED_CHARS {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut rest = text.char_indices();
    while let Some((open, quote)) = rest.next() {
        if quote != '"' && quote != '`' {
            continue;
        }
        let start = open + 1;
        let mut escaped = false;
        let close = rest.by_ref().find_map(|(at, c)| {
            let closes = c == quote && !escaped;
            escaped = quote == '"' && c == '\\' && !escaped;
            closes.then_some(at)
        });
        let end = close.unwrap_or(text.len());
        let quoted = &text[start..end];
        if let Cow::Owned(cut) = excerpt(quoted) {
            out.push_str(&text[copied..start]);
            out.push_str(&cut);
            copied = end;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_left_as_they_are() {
        let text = r#"invalid type: string "seven", expected u32"#;
        assert!(matches!(bounded(text), Cow::Borrowed(t) if t == text));
        let long_but_unquoted = "x".repeat(5_000);
        assert!(matches!(bounded(&long_but_unquoted), Cow::Borrowed(_)));
    }

    #[test]
    fn long_quoted_values_are_cut_and_the_rest_kept() {
        let huge = "x".repeat(5_000_000);
        let text = format!(
            r#"invalid type: string "{huge}", expected u32; unknown variant `{huge}`, expected `a`"#
        );
        let cut = bounded(&text);
        assert!(cut.len() < 2 * MAX_QUOTED_CHARS + 200, "{}", cut.len());
        assert!(
            cut.starts_with(&format!(
                r#"invalid type: string "{}… (5000000 characters in all)", expected u32"#,
                "x".repeat(MAX_QUOTED_CHARS)
            )),
            "{cut}"
        );
        assert!(
            cut.ends_with("… (5000000 characters in all)`, expected `a`"),
            "{cut}"
        );
    }

    #[test]
    fn escaped_quotes_do_not_end_a_quoted_value() {
        let inner = format!(r#"{}\"{}"#, "a".repeat(150), "b".repeat(150));
        let text = format!(r#"invalid type: string "{inner}", expected u32"#);
        let cut = bounded(&text);
        assert!(
            cut.ends_with(r#"characters in all)", expected u32"#),
            "{cut}"
        );
        // An unclosed quote runs to the end, and is cut all the same.
        let open = format!("unknown field `{}", "f".repeat(1_000));
        assert!(bounded(&open).ends_with("… (1000 characters in all)"));
    }

    #[test]
    fn a_json_error_keeps_its_position() {
        let huge = "y".repeat(1_000_000);
        let error = serde_json::from_str::<u32>(&format!("\"{huge}\"")).unwrap_err();
        let text = json_error(&error);
        assert!(text.len() < 400, "{}", text.len());
        assert!(text.starts_with("invalid type: string \"yyy"), "{text}");
        assert!(
            text.ends_with("\", expected u32 at line 1 column 1000002"),
            "{text}"
        );
        // Without a position (from a `Value`), the message alone.
        let error = serde_json::from_value::<u32>(serde_json::Value::String(huge)).unwrap_err();
        assert!(json_error(&error).ends_with("\", expected u32"));
    }

    #[test]
    fn a_handler_error_is_bounded_whole() {
        let said = "z".repeat(5_000);
        let cut = handler_said(&said);
        assert!(cut.ends_with("… (5000 characters in all)"), "{cut}");
        assert!(cut.chars().count() < MAX_HANDLER_ERROR_CHARS + 40);
        assert_eq!(handler_said("job 13 is unlucky"), "job 13 is unlucky");
        // A lone backtick does not make the rest a quoted value, cut shorter.
        let row = format!("bad row: `{}", "r".repeat(900));
        assert_eq!(handler_said(&row), row);
    }
}
