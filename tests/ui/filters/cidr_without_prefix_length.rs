// A CIDR block needs its prefix length.
use eventfn::event;

#[event("order.placed", filter = r#"{"ip": [{"cidr": "10.0.0.0"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
