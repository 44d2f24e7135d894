// An option may be given once.
use eventfn::event;

#[event("signup", retries = 1, retries = 2)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
