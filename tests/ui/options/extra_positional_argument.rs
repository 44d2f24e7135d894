// Only the first argument is positional.
use eventfn::event;

#[event("signup", "audit")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
