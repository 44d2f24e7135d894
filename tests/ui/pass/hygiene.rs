// The generated code does not depend on names the user's module defines: `Result`, `Ok`, `Option`, `Box` and more.
#![allow(
    dead_code,
    non_snake_case,
    non_camel_case_types,
    non_upper_case_globals
)]

use eventfn::{Context, event, queue, schedule};
use serde::Deserialize;

struct Result;
struct Option;
struct Box;
struct Vec;
struct String;
struct Pin;
struct Future;
struct HandlerFuture;
struct Invocation;
struct Piece;
fn Ok() {}
fn Err() {}
fn Some() {}
const None: () = ();
mod core {}
mod std {}
mod linkme {}
mod serde_json {}
const __EVENTFN_LEN: () = ();
fn __eventfn_call() {}

#[derive(Deserialize)]
struct Signup {
    email: ::std::string::String,
}

#[event("signup")]
async fn handler(signup: Signup, ctx: Context) -> eventfn::Result<()> {
    let _ = (signup.email, ctx);
    ::core::result::Result::Ok(())
}

#[queue("jobs", batch_size = 5)]
async fn job(job: ::std::vec::Vec<Signup>) -> ::std::result::Result<(), ::std::string::String> {
    let _ = job;
    ::core::result::Result::Ok(())
}

#[schedule("rate(1 day)")]
async fn daily() -> eventfn::Result<()> {
    ::core::result::Result::Ok(())
}

fn main() {}
