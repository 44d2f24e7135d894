// A schedule without `name = ...` is named after its function, which must then be a valid name.
use eventfn::schedule;

#[schedule("rate(1 day)")]
async fn _cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
