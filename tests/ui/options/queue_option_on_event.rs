// `batch_size` is a queue option.
use eventfn::event;

#[event("signup", batch_size = 10)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
