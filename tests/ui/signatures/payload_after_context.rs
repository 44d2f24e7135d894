// The payload comes before `Context`.
use eventfn::{Context, event};

#[event("signup")]
async fn handler(_ctx: Context, _payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
