// Cron months are 1-12 or JAN-DEC.
use eventfn::schedule;

#[schedule("cron(0 12 * 13 ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
