// A handler returns a Result, not `bool`.
use eventfn::event;

#[event("signup")]
async fn handler(payload: String) -> bool {
    payload.is_empty()
}

fn main() {}
