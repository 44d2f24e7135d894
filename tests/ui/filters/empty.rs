// An empty filter would let everything through.
use eventfn::event;

#[event("order.placed", filter = r#"{}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
