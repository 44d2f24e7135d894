// A handler takes `Context` once.
use eventfn::{Context, event};

#[event("signup")]
async fn handler(_ctx: Context, _again: Context) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
