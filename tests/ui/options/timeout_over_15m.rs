// `timeout` is at most 15m, Lambda's limit.
use eventfn::event;

#[event("signup", timeout = "16m")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
