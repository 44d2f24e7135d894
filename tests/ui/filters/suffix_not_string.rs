// `suffix` takes a string.
use eventfn::event;

#[event("order.placed", filter = r#"{"file": [{"suffix": null}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
