// A handler returns `Result<(), E>`, not a value.
use eventfn::event;

#[event("signup")]
async fn handler(_payload: String) -> eventfn::Result<u32> {
    Ok(1)
}

fn main() {}
