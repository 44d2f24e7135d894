// A `timeout` number that does not fit in 64 bits.
use eventfn::event;

#[event("signup", timeout = "99999999999999999999s")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
