// A rate must be greater than zero.
use eventfn::schedule;

#[schedule("rate(0 hours)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
