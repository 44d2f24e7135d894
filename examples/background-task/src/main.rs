//! The background-task app: serves its handlers on Lambda, or in the sandbox under
//! `cargo eventfn dev`. The handlers are in the library (`src/lib.rs`), linked here; the HTTP
//! front is a program of its own, `examples/front.rs`.

use background_task as _;

#[tokio::main]
async fn main() -> eventfn::Result<()> {
    eventfn::run().await
}
