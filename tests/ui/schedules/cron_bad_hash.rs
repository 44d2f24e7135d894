// After `#` comes the week of the month, 1 to 5.
use eventfn::schedule;

#[schedule("cron(0 12 ? * 2#6 *)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
