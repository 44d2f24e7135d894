// `retries` is at most 999.
use eventfn::event;

#[event("signup", retries = 1000)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
