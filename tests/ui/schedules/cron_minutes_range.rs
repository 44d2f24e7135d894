// Cron minutes are 0-59.
use eventfn::schedule;

#[schedule("cron(60 12 * * ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
