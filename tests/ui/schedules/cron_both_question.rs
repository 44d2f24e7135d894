// Only one of day-of-month and day-of-week may be `?`.
use eventfn::schedule;

#[schedule("cron(0 12 ? * ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
