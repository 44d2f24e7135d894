// A payload is owned, not borrowed.
use eventfn::event;

#[event("signup")]
async fn handler(_payload: &str) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
