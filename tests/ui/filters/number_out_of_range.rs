// SNS compares numbers within plus or minus one billion.
use eventfn::event;

#[event("order.placed", filter = r#"{"total": [{"numeric": [">", 5000000000]}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
