// Conditions are values or operators, not arrays.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": [["NL"]]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
