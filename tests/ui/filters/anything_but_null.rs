// `anything-but` of null.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": [{"anything-but": null}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
