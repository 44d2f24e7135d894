// `prefix` takes a string.
use eventfn::event;

#[event("order.placed", filter = r#"{"code": [{"prefix": 12}]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
