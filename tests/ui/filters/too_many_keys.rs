// SNS takes at most five keys at the top.
use eventfn::event;

#[event("order.placed", filter = r#"{"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"], "f": ["x"]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
