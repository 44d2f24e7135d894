// `timeout` is in whole seconds, not milliseconds.
use eventfn::event;

#[event("signup", timeout = "500ms")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
