// A handler is an `async fn`.
use eventfn::event;

#[event("signup")]
fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
