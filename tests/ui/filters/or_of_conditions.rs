// `$or` lists policies of keys, not conditions.
use eventfn::event;

#[event("order.placed", filter = r#"{"$or": [{"numeric": 123}, {"prefix": "abc"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
