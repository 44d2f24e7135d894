// A payload is a concrete type.
use eventfn::event;

#[event("signup")]
async fn handler(_payload: impl serde::de::DeserializeOwned) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
