// Each policy in `$or` is an object.
use eventfn::event;

#[event("order.placed", filter = r#"{"$or": [{"country": ["NL"]}, ["BE"]]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
