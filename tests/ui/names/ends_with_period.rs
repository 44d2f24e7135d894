// A name may not end with a period (Architect and SNS refuse it).
use eventfn::event;

#[event("order.")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
