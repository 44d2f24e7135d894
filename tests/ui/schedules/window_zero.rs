// A flexible window of nothing is no window: leave it out.
use eventfn::schedule;

#[schedule("rate(1 day)", flexible_window = "0 minutes")]
async fn daily() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
