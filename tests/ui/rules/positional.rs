// A rule takes options only: there is no name first.
use eventfn::rule;

#[rule("uploads", bus = "default", pattern = r#"{"source": ["aws.s3"]}"#)]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
