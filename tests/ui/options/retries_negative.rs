// `retries` cannot be negative.
use eventfn::event;

#[event("signup", retries = -1)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
