// A rule has a pattern, not an SNS filter.
use eventfn::rule;

#[rule(bus = "default", pattern = r#"{"source": ["shop"]}"#, filter = r#"{"a": ["b"]}"#)]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
