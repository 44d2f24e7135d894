// A misspelt zone is named with the closest IANA name.
use eventfn::schedule;

#[schedule("cron(0 9 ? * MON-FRI *)", timezone = "Europe/Amsterdm")]
async fn standup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
