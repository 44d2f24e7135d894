// An IPv4 prefix length is at most 32.
use eventfn::event;

#[event("order.placed", filter = r#"{"ip": [{"cidr": "10.0.0.0/40"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
