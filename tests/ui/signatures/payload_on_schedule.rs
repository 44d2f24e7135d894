// A scheduled handler takes no payload.
use eventfn::schedule;

#[schedule("rate(1 day)")]
async fn cleanup(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
