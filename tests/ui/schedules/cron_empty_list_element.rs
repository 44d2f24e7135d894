// A cron list has no empty elements.
use eventfn::schedule;

#[schedule("cron(0,,30 * * * ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
