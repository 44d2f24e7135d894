// An operator SNS does not know.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": [{"starts-with": "N"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
