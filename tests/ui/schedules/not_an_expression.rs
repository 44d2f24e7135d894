// A schedule is `rate(...)` or `cron(...)`.
use eventfn::schedule;

#[schedule("every day")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
