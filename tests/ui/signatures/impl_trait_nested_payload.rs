// A payload is a concrete type, even inside another type.
use eventfn::event;

#[event("signup")]
async fn handler(_payload: Vec<impl serde::de::DeserializeOwned>) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
