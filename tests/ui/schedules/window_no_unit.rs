// A window is a count and a unit.
use eventfn::schedule;

#[schedule("rate(1 day)", flexible_window = "15")]
async fn daily() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
