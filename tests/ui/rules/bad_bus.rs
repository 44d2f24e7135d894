// A bus is `default`, a partner bus, an ARN, or a name of the app's own.
use eventfn::rule;

#[rule(bus = "aws.mine", pattern = r#"{"source": ["shop"]}"#)]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
