// `numeric` takes an array.
use eventfn::event;

#[event("order.placed", filter = r#"{"total": [{"numeric": 100}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
