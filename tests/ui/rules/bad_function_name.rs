// A rule is named after its function unless it sets `name`.
use eventfn::rule;

#[rule(bus = "default", pattern = r#"{"source": ["shop"]}"#)]
async fn aws_thing() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
