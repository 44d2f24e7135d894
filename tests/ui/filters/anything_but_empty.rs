// `anything-but` with nothing to exclude.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": [{"anything-but": []}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
