// `retries` is a whole number, not a string.
use eventfn::event;

#[event("signup", retries = "3")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
