// Cron days of the month are 1-31.
use eventfn::schedule;

#[schedule("cron(0 12 32 * ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
