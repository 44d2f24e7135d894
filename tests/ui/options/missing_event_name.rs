// #[event] needs the event name.
use eventfn::event;

#[event]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
