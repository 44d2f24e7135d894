// A flexible window is at most 24 hours.
use eventfn::schedule;

#[schedule("rate(1 day)", flexible_window = "25 hours")]
async fn daily() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
