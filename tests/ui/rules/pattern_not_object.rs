// The envelope's fields take arrays, as every key of a pattern does.
use eventfn::rule;

#[rule(bus = "default", pattern = r#"{"source": "aws.s3"}"#)]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
