// Rules are fed by their own queue one event at a time: no batch_size.
use eventfn::rule;

#[rule(bus = "default", pattern = r#"{"source": ["shop"]}"#, batch_size = 10)]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
