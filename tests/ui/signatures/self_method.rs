// A handler is a free function, not a method taking `self`.
use eventfn::event;

struct Service;

impl Service {
    #[event("signup")]
    async fn handler(&self, _payload: String) -> eventfn::Result<()> {
        Ok(())
    }
}

fn main() {}
