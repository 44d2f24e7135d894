// A rate value is a whole number.
use eventfn::schedule;

#[schedule("rate(1.5 hours)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
