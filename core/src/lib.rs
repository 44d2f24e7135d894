#![warn(missing_docs)]
//! The one definition of eventfn's grammar and app manifest, shared by `eventfn-macros` (which
//! checks user input at compile time), the `eventfn` runtime (which reads registrations at start)
//! and `cargo-eventfn` (which reads them from the built binary and writes the app's artifacts).
//!
//! Nothing here is specific to one of those: the same function decides whether a name, a schedule
//! expression or an option value is valid wherever it is checked, so the three can never disagree.

pub mod after;
pub mod attempt;
pub mod dead;
pub mod delay;
pub mod filter;
pub mod logical;
pub mod manifest;
pub mod name;
pub mod options;
pub mod pattern;
pub mod quote;
pub mod record;
pub mod sandbox;
pub mod schedule;
pub mod settings;
pub mod zone;

pub use after::parse_after;
pub use filter::FilterPolicy;
pub use manifest::{Client, Handler, Kind, Manifest, Options, Source};
pub use name::validate_name;
pub use options::{Defaults, OptionKey};
pub use pattern::{Bus, EventPattern};
pub use record::Registration;
pub use schedule::Schedule;

/// The name of the link section that holds one JSON registration record per handler.
///
/// A C identifier, so that ELF linkers also provide `__start_`/`__stop_` symbols; Mach-O prefixes
/// it with the `__DATA` segment (and allows at most 16 characters).
pub const SECTION: &str = "eventfn_manifest";

/// The largest payload, as JSON, that a message may carry: SNS and SQS take 256 KB per message,
/// counting its attributes, for which eventfn keeps 1 KB.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 - 1024;

/// Why a payload of `bytes` bytes as JSON is refused, and what to do instead: one text for
/// `eventfn::publish`, the sandbox's API and `cargo eventfn publish`, each of which puts what it
/// was sending to (`cannot send to event `x`: `) in front.
pub fn payload_too_large(bytes: usize) -> String {
    format!(
        "the payload is {bytes} bytes as JSON; at most {MAX_PAYLOAD_BYTES} bytes fit in a message \
         (256 KB with its attributes). Store large data elsewhere (S3, a database) and send its key"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_payload_too_large_is_refused_with_advice() {
        assert_eq!(
            super::payload_too_large(300_000),
            "the payload is 300000 bytes as JSON; at most 261120 bytes fit in a message (256 KB \
             with its attributes). Store large data elsewhere (S3, a database) and send its key"
        );
    }
}
