// Nothing like an IANA zone.
use eventfn::schedule;

#[schedule("cron(0 9 * * ? *)", timezone = "Mars/Olympus_Mons")]
async fn daily() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
