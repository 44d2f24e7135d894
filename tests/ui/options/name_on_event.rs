// `name` is a schedule option: events are named by their first argument.
use eventfn::event;

#[event("signup", name = "other")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
