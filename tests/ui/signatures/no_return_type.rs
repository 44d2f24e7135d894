// A handler returns a Result.
use eventfn::event;

#[event("signup")]
async fn handler(payload: String) {
    println!("{payload}");
}

fn main() {}
