// `timeout` units are s, m and h.
use eventfn::event;

#[event("signup", timeout = "1d")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
