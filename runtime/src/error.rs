//! Errors.

use std::fmt;

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
            write!(f, "field `{}`: ", self.path)?;
        }
        write!(f, "{}", self.source)
    }
}

impl std::error::Error for PayloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
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
