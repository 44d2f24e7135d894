// `anything-but` lists strings or numbers, not both.
use eventfn::event;

#[event("order.placed", filter = r#"{"size": [{"anything-but": ["XL", 42]}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
