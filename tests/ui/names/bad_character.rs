// An event name may hold only letters, digits, `-`, `.` and `_`.
use eventfn::event;

#[event("account/signup")]
async fn handler(_payload: String) -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
