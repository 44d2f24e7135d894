// Names starting with `aws` or `amazon` are reserved by AWS.
use eventfn::event;

#[event("aws-billing")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
