// An empty array of conditions matches nothing.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": []}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
