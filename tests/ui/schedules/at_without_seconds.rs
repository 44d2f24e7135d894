// EventBridge Scheduler writes one-time schedules to the second.
use eventfn::schedule;

#[schedule("at(2027-12-31T23:00)")]
async fn launch() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
