// A handler has no `where` clause.
use eventfn::event;

#[event("signup")]
async fn handler(_payload: String) -> eventfn::Result<()>
where
    String: Clone,
{
    Ok(())
}

fn main() {}
