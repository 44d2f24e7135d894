// An error deep in a nested policy names its path.
use eventfn::event;

#[event("order.placed", filter = r#"{"customer": {"address": {"country": [{"exists": 1}]}}}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
