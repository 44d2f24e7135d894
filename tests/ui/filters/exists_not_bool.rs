// `exists` takes true or false.
use eventfn::event;

#[event("order.placed", filter = r#"{"coupon": [{"exists": "yes"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
