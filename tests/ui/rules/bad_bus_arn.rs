// An ARN must be an event bus's.
use eventfn::rule;

#[rule(bus = "arn:aws:sns:us-east-1:123456789012:orders", pattern = r#"{"source": ["shop"]}"#)]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
