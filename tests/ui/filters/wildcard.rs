// `wildcard` is not supported for payload filters.
use eventfn::event;

#[event("order.placed", filter = r#"{"file": [{"wildcard": "*.png"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
