// One of day-of-month and day-of-week must be `?`.
use eventfn::schedule;

#[schedule("cron(0 12 * * * *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
