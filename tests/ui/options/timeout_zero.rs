// `timeout` is at least 1s.
use eventfn::event;

#[event("signup", timeout = "0s")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
