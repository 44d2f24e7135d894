// There is no 30 February.
use eventfn::schedule;

#[schedule("at(2027-02-30T09:00:00)", timezone = "Europe/Amsterdam")]
async fn launch() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
