// Arguments are separated by commas.
use eventfn::event;

#[event("signup", timeout = "10s" retries = 3)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
