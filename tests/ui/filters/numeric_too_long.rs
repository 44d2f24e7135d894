// At most a lower and an upper bound.
use eventfn::event;

#[event("order.placed", filter = r#"{"total": [{"numeric": [">", 1, "<", 10, "<", 20]}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
