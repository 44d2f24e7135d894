// A handler is not a `const fn`.
use eventfn::event;

#[event("signup")]
const fn handler(_payload: u32) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
