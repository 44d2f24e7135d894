//! The user-joined app: serves its handlers on Lambda, or in the sandbox under
//! `cargo eventfn dev`. The handlers are in the library (`src/lib.rs`), linked here.

use user_joined as _;

#[tokio::main]
async fn main() -> eventfn::Result<()> {
    eventfn::run().await
}
