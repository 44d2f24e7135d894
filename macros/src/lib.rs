//! The `#[event]`, `#[schedule]` and `#[queue]` attributes of [eventfn](https://docs.rs/eventfn).
//!
//! Use them through the `eventfn` crate, which re-exports them and everything the code they
//! generate needs. This crate only parses, checks and emits; the grammar it checks against is
//! `eventfn-core`'s, the logic that runs handlers is the runtime's.

mod args;
mod errors;
mod expand;
mod sends;
mod signature;

use eventfn_core::Kind;
use proc_macro::TokenStream;

/// Subscribes an async function to an event: `#[event("account-signup", timeout = "10s")]`, or
/// to the payloads of it that match a filter:
/// `#[event("order.placed", filter = r#"{"country": ["NL", "BE"]}"#)]`.
#[proc_macro_attribute]
pub fn event(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(Kind::Event, args.into(), item.into()).into()
}

/// Runs an async function on a schedule: `#[schedule("rate(1 day)")]`, `#[schedule("cron(0 12 * * ? *)")]`.
#[proc_macro_attribute]
pub fn schedule(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(Kind::Schedule, args.into(), item.into()).into()
}

/// Runs an async function on the events of an EventBridge bus that match a pattern:
/// `#[rule(bus = "default", pattern = r#"{"source": ["aws.s3"]}"#)]`. The handler's payload is
/// the event's `detail`; its `Context` has the envelope (`source()`, `detail_type()`, ...).
#[proc_macro_attribute]
pub fn rule(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(Kind::Rule, args.into(), item.into()).into()
}

/// Consumes a queue with an async function: `#[queue("thumbnails", batch_size = 10)]`.
#[proc_macro_attribute]
pub fn queue(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::handler(Kind::Queue, args.into(), item.into()).into()
}
