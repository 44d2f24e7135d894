// EventBridge takes no `/` steps in the day-of-week field.
use eventfn::schedule;

#[schedule("cron(0 12 ? * MON-FRI/2 *)")]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
