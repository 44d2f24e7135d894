// #[schedule] needs a schedule expression.
use eventfn::schedule;

#[schedule()]
async fn cleanup() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
