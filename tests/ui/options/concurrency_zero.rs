// `concurrency` is at least 1.
use eventfn::event;

#[event("signup", concurrency = 0)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
