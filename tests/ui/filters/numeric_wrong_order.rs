// A range is a lower bound, then an upper one.
use eventfn::event;

#[event("order.placed", filter = r#"{"total": [{"numeric": ["<", 100, ">", 10]}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
