// Cron hours are 0-23.
use eventfn::schedule;

#[schedule("cron(0 24 * * ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
