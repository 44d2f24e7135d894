// A range whose bounds leave nothing between them.
use eventfn::event;

#[event("order.placed", filter = r#"{"total": [{"numeric": [">", 100, "<", 10]}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
