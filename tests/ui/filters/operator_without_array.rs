// An operator must sit in an array, else it reads as a payload key.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": {"prefix": "N"}}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
