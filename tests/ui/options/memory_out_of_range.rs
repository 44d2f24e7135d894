// `memory` is 128 to 10240 MB.
use eventfn::event;

#[event("signup", memory = 64)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
