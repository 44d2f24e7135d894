// A rate unit is minute(s), hour(s) or day(s).
use eventfn::schedule;

#[schedule("rate(2 weeks)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
