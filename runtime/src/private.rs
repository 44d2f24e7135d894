//! Not public API: used by the code `#[event]`, `#[schedule]` and `#[queue]` generate, which
//! refers to everything through `::eventfn::__private` so that it survives users shadowing
//! `Result`, `Box` or `Option`.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;

pub use linkme;

use crate::error::{PayloadError, message};
pub use crate::publish::connect as connect_bus;
use crate::{Context, Error, Result};

/// The runtime's dispatch table: one entry per handler linked into the binary.
#[linkme::distributed_slice]
pub static HANDLERS: [Registered];

/// A handler as the runtime calls it.
pub struct Registered {
    /// The handler's JSON registration record (also in the `eventfn_manifest` link section).
    pub record: &'static [u8],
    pub call: fn(Invocation) -> HandlerFuture,
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// One delivery to one handler: the payload as JSON, and its context.
pub struct Invocation {
    pub(crate) payload: String,
    pub(crate) context: Context,
}

impl Invocation {
    pub fn into_parts(self) -> (String, Context) {
        (self.payload, self.context)
    }
}

/// Deserializes a payload, naming the event, handler, type and field when it does not fit.
pub fn decode<T: DeserializeOwned>(payload: &str, ctx: &Context) -> Result<T> {
    // Tracking the path costs on every value; only a payload that fails is read again with it.
    if let Ok(value) = serde_json::from_str(payload) {
        return Ok(value);
    }
    let mut json = serde_json::Deserializer::from_str(payload);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let mut path = e.path().to_string();
        if ctx.event.is_some()
            && !crate::bus_event::takes_whole_event(ctx.handler.payload.as_deref())
        {
            // A rule's payload is its event's `detail`: name the field in the event.
            path = if path == "." {
                "detail".to_owned()
            } else {
                format!("detail.{path}")
            };
        }
        let h = ctx.handler;
        Error::from(PayloadError {
            kind: h.kind.as_str(),
            name: h.name.clone(),
            handler: h.function.clone(),
            payload_type: h.payload.clone().unwrap_or_default(),
            path,
            source: e.into_inner(),
        })
    })
}

/// The `Context` argument of a handler, which must be `eventfn::Context`.
#[diagnostic::on_unimplemented(
    message = "the context argument of a handler must be `eventfn::Context`, not `{Self}`",
    label = "expected `eventfn::Context`",
    note = "handlers are `async fn(payload: T, ctx: eventfn::Context)`; `Context` is imported with `use eventfn::Context;`"
)]
pub trait FromContext {
    fn from_context(ctx: Context) -> Self;
}

impl FromContext for Context {
    fn from_context(ctx: Context) -> Self {
        ctx
    }
}

pub fn context<T: FromContext>(ctx: Context) -> T {
    T::from_context(ctx)
}

/// What a handler returns: `Result<(), E>` with `E: Display`.
#[diagnostic::on_unimplemented(
    message = "a handler must return `Result<(), E>` where `E: Display`, not `{Self}`",
    label = "eventfn cannot report this return type",
    note = "return `eventfn::Result<()>`: any error converts into `eventfn::Error` with `?`"
)]
pub trait HandlerOutput {
    fn into_result(self) -> Result<()>;
}

impl<E: std::fmt::Display + 'static> HandlerOutput for std::result::Result<(), E> {
    fn into_result(self) -> Result<()> {
        self.map_err(|e| {
            // An `eventfn::Error` is kept whole, so that what it is (a payload error, a
            // permanent failure) is not lost to its text; any other error is its text.
            let any: Box<dyn std::any::Any> = Box::new(e);
            match any.downcast::<Error>() {
                Ok(error) => *error,
                Err(any) => message(
                    any.downcast::<E>()
                        .map_or_else(|_| String::new(), |e| e.to_string()),
                ),
            }
        })
    }
}

pub fn into_result<R: HandlerOutput>(output: R) -> Result<()> {
    output.into_result()
}

/// A piece of a registration record: literal JSON, or a string to escape into a JSON string.
pub struct Piece {
    text: &'static str,
    escape: bool,
}

impl Piece {
    pub const fn raw(text: &'static str) -> Piece {
        Piece {
            text,
            escape: false,
        }
    }

    pub const fn escaped(text: &'static str) -> Piece {
        Piece { text, escape: true }
    }
}

const fn escape(byte: u8) -> (usize, [u8; 6]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match byte {
        b'"' => (2, *b"\\\"    "),
        b'\\' => (2, *b"\\\\    "),
        0..=0x1f => (
            6,
            [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ],
        ),
        _ => (1, [byte, 0, 0, 0, 0, 0]),
    }
}

/// The length of the record the pieces make.
pub const fn record_len(pieces: &[Piece]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < pieces.len() {
        let bytes = pieces[i].text.as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            len += if pieces[i].escape {
                escape(bytes[j]).0
            } else {
                1
            };
            j += 1;
        }
        i += 1;
    }
    len
}

/// The record the pieces make, at compile time; `N` is [`record_len`] of the same pieces.
pub const fn record<const N: usize>(pieces: &[Piece]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut i = 0;
    while i < pieces.len() {
        let bytes = pieces[i].text.as_bytes();
        let mut j = 0;
        while j < bytes.len() {
            let (n, escaped) = if pieces[i].escape {
                escape(bytes[j])
            } else {
                (1, [bytes[j], 0, 0, 0, 0, 0])
            };
            let mut k = 0;
            while k < n {
                out[at] = escaped[k];
                at += 1;
                k += 1;
            }
            j += 1;
        }
        i += 1;
    }
    assert!(at == N, "record length mismatch");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_escape_paths_into_valid_json() {
        const PIECES: &[Piece] = &[
            Piece::raw("{\"file\":\""),
            Piece::escaped("C:\\src\\\"odd\"\n.rs"),
            Piece::raw("\"}"),
        ];
        const N: usize = record_len(PIECES);
        const RECORD: [u8; N] = record::<N>(PIECES);
        let value: serde_json::Value = serde_json::from_slice(&RECORD).unwrap();
        assert_eq!(value["file"], "C:\\src\\\"odd\"\n.rs");
    }
}
