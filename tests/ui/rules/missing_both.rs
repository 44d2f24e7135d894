// A rule needs both its bus and its pattern.
use eventfn::rule;

#[rule]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
