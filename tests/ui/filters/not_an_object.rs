// A filter is an object of payload keys.
use eventfn::event;

#[event("order.placed", filter = r#"["NL"]"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
