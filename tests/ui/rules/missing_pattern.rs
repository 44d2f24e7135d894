// A rule needs both its bus and its pattern.
use eventfn::rule;

#[rule(bus = "default")]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
