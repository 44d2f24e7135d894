// Only day-of-month and day-of-week take `?`.
use eventfn::schedule;

#[schedule("cron(0 ? * * ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
