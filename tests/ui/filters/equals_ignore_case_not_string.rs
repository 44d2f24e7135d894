// `equals-ignore-case` takes a string.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": [{"equals-ignore-case": true}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
