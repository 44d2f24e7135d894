// One payload path named twice, dotted and nested: SNS would keep only the last array.
use eventfn::event;

#[event("order.placed", filter = r#"{"customer.tier": ["gold"], "customer": {"tier": ["silver"]}}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
