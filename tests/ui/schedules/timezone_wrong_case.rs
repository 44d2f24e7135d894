// Zone names are case-sensitive, as EventBridge Scheduler reads them.
use eventfn::schedule;

#[schedule("rate(1 day)", timezone = "europe/paris")]
async fn daily() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
