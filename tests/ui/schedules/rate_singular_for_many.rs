// `rate(N ...)` with N > 1 takes a plural unit.
use eventfn::schedule;

#[schedule("rate(5 minute)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
