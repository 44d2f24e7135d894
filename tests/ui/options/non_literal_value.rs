// Option values are literals, not constants.
use eventfn::event;

const TIMEOUT: &str = "10s";

#[event("signup", timeout = TIMEOUT)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
