// SNS takes at most 150 combinations of values.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": ["NL", "BE", "DE", "FR", "LU", "AT"], "size": ["XS", "S", "M", "L", "XL"], "colour": ["red", "green", "blue", "black", "white", "grey"]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
