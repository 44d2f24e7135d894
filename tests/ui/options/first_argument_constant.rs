// The event name is a literal: the attribute cannot read constants.
use eventfn::event;

const SIGNUP: &str = "signup";

#[event(SIGNUP)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
