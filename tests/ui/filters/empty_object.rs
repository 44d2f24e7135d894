// An empty nested object matches nothing.
use eventfn::event;

#[event("order.placed", filter = r#"{"customer": {}}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
