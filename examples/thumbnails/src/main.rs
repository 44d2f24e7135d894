//! The thumbnails app: serves its handlers on Lambda, or in the sandbox under
//! `cargo eventfn dev`. The handlers are in the library (`src/lib.rs`), linked here.

use thumbnails as _;

#[tokio::main]
async fn main() -> eventfn::Result<()> {
    eventfn::run().await
}
