// `filter` is an event option: schedules have no subscription.
#[eventfn::schedule("rate(1 day)", filter = r#"{"size": ["L"]}"#)]
async fn nightly() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
