// One operator per condition.
use eventfn::event;

#[event("order.placed", filter = r#"{"country": [{"prefix": "N", "suffix": "L"}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
