// A handler's return type is written out, without `impl Trait`.
use eventfn::event;

#[event("signup")]
async fn handler(_payload: String) -> Result<(), impl std::fmt::Display> {
    Ok::<(), String>(())
}

fn main() {}
