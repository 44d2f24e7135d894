// A cron step is a whole number from 1 to the field's maximum.
use eventfn::schedule;

#[schedule("cron(0/0 * * * ? *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
