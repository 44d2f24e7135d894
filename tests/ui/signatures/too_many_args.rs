// A handler takes at most a payload and a `Context`.
use eventfn::{Context, event};

#[event("signup")]
async fn handler(_payload: String, _ctx: Context, _extra: u32) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
