// `filter` is an event option: queues have no subscription.
#[eventfn::queue("thumbnails", filter = r#"{"size": ["L"]}"#)]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
