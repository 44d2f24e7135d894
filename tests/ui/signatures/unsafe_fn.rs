// A handler is not `unsafe`.
use eventfn::event;

#[event("signup")]
async unsafe fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
