// A CIDR block starts with an IP address.
use eventfn::event;

#[event("order.placed", filter = r#"{"ip": [{"cidr": "10.0.0.300/24"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
