//! Test fixture: does not compile; `cargo eventfn build` must exit as cargo does.

#[eventfn::event("not a name")]
async fn handler() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
