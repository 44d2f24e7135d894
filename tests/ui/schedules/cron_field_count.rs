// A cron expression has six fields.
use eventfn::schedule;

#[schedule("cron(0 12 * *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
