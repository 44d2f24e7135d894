// `$or` needs at least two policies.
use eventfn::event;

#[event("order.placed", filter = r#"{"$or": [{"country": ["NL"]}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
