// A rate value must fit in 64 bits.
use eventfn::schedule;

#[schedule("rate(99999999999999999999 days)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
