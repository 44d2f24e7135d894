// Cron years are 1970-2199.
use eventfn::schedule;

#[schedule("cron(0 12 * * ? 1969)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
