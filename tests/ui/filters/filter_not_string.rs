// A filter is written as a string of JSON.
#[eventfn::event("order.placed", filter = 100)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
