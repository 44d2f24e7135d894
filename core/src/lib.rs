#![warn(missing_docs)]
//! The one definition of eventfn's grammar and app manifest, shared by `eventfn-macros` (which
//! checks user input at compile time), the `eventfn` runtime (which reads registrations at start)
//! and `cargo-eventfn` (which reads them from the built binary and writes the app's artifacts).
//!
//! Nothing here is specific to one of those: the same function decides whether a name, a schedule
//! expression or an option value is valid wherever it is checked, so the three can never disagree.

pub mod after;
pub mod dead;
pub mod delay;
pub mod filter;
pub mod logical;
pub mod manifest;
pub mod name;
pub mod options;
pub mod quote;
pub mod record;
pub mod sandbox;
pub mod schedule;
pub mod settings;

pub use after::parse_after;
pub use filter::FilterPolicy;
pub use manifest::{Handler, Kind, Manifest, Options, Source};
pub use name::validate_name;
pub use options::{Defaults, OptionKey};
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
