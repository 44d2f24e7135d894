// A handler's error type must implement `Display`.
use eventfn::event;

#[derive(Debug)]
struct Failure;

#[event("signup")]
async fn handler(_payload: String) -> Result<(), Failure> {
    Ok(())
}

fn main() {}
