// An operator object needs its operator.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": [{}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
