// An unknown option is rejected, listing the valid ones.
use eventfn::event;

#[event("signup", timout = "10s")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
