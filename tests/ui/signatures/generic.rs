// A handler is not generic.
use eventfn::event;

#[event("signup")]
async fn handler<T: serde::de::DeserializeOwned>(_payload: T) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
