// `timeout` cannot be empty.
use eventfn::event;

#[event("signup", timeout = "")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
