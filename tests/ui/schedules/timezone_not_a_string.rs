// A zone is a string.
use eventfn::schedule;

#[schedule("cron(0 9 * * ? *)", timezone = 1)]
async fn daily() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
