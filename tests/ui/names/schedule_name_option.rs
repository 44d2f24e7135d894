// A schedule's `name = ...` follows the same rules as event names.
use eventfn::schedule;

#[schedule("rate(1 day)", name = "nightly cleanup")]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
