// Cron days of the week are 1-7 or SUN-SAT.
use eventfn::schedule;

#[schedule("cron(0 12 ? * 8 *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
