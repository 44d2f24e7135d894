//! The eventfn side of the parity bench (`benches/parity.rs`): one typed handler of an SNS event,
//! served on Lambda by `eventfn::run`. Built as `cargo eventfn build` builds a bootstrap
//! (`--features aws`, release, position-dependent).

#[path = "parity/order.rs"]
mod order;

use order::{Order, handle};

#[eventfn::event("order.placed")]
async fn placed(order: Order) -> eventfn::Result<()> {
    std::hint::black_box(handle(&order));
    Ok(())
}

#[tokio::main]
async fn main() -> eventfn::Result<()> {
    eventfn::run().await
}
