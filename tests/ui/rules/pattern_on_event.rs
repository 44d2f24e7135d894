// `pattern` and `bus` belong to rules; events filter with `filter`.
use eventfn::event;

#[event("order.placed", pattern = r#"{"source": ["shop"]}"#)]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
