// `timeout` needs a unit.
use eventfn::event;

#[event("signup", timeout = "10")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
