// A handler takes one payload.
use eventfn::event;

#[event("signup")]
async fn handler(_user: String, _email: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
