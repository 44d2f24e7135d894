// An event name cannot be empty.
use eventfn::event;

#[event("")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
