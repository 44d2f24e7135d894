// An empty policy in `$or`.
use eventfn::event;

#[event("order.placed", filter = r#"{"$or": [{"country": ["NL"]}, {}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
