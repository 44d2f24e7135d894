// A `Context` argument must be `eventfn::Context`, not another type of that name.
use eventfn::event;

struct Context;

#[event("signup")]
async fn handler(_payload: String, _ctx: Context) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
