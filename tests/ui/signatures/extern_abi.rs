// A handler has no `extern` ABI.
use eventfn::event;

#[event("signup")]
async extern "C" fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
