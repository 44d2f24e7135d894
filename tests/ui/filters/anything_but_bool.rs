// `anything-but` lists strings or numbers.
use eventfn::event;

#[event("order.placed", filter = r#"{"paid": [{"anything-but": [false]}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
