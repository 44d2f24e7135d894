// An attribute cannot read a constant: the filter is written in place.
const FILTER: &str = "{}";

#[eventfn::event("order.placed", filter = FILTER)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
