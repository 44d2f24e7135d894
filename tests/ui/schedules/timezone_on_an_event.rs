// Only schedules fire on a clock.
use eventfn::event;

#[event("signup", timezone = "Europe/Amsterdam")]
async fn welcome() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
