// `timeout` is a duration like "10s".
use eventfn::event;

#[event("signup", timeout = "ten seconds")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
