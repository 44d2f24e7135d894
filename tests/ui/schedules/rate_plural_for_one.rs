// `rate(1 ...)` takes a singular unit.
use eventfn::schedule;

#[schedule("rate(1 days)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
