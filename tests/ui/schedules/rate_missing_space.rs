// A rate's value and unit are separated by a space.
use eventfn::schedule;

#[schedule("rate(5minutes)")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
