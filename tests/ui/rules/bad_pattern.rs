// A pattern is checked against EventBridge's grammar, on its literal.
use eventfn::rule;

#[rule(bus = "default", pattern = r#"{"source": ["aws.s3"], "detail": {"key": [{"wildcard": "a**"}]}}"#)]
async fn handler(_detail: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
