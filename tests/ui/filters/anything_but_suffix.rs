// `anything-but` takes only `prefix` as an operator.
use eventfn::event;

#[event("order.placed", filter = r#"{"file": [{"anything-but": {"suffix": ".tmp"}}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
