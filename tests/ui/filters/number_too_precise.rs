// SNS compares numbers to five decimals.
use eventfn::event;

#[event("order.placed", filter = r#"{"rate": [0.1234567]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
