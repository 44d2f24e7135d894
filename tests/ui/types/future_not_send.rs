// A handler's future must be `Send`: nothing that is not `Send` may be held across an `.await`.
use std::rc::Rc;

use eventfn::event;

async fn save(_count: usize) {}

#[event("signup")]
async fn handler(payload: String) -> eventfn::Result<()> {
    let shared = Rc::new(payload);
    save(shared.len()).await;
    println!("{shared}");
    Ok(())
}

fn main() {}
