// `Context` is passed by value, not borrowed.
use eventfn::{Context, event};

#[event("signup")]
async fn handler(_payload: String, _ctx: &Context) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
