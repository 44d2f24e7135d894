// The event name is a string literal.
use eventfn::event;

#[event(42)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
