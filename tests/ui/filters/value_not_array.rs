// A key takes an array of conditions or an object.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": "NL"}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
