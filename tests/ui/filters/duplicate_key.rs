// A key given twice: neither value may silently win.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": ["NL"], "country": ["BE"]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
