// The payload type must implement `Deserialize`.
use eventfn::event;

struct Signup {
    email: String,
}

#[event("signup")]
async fn handler(signup: Signup) -> eventfn::Result<()> {
    println!("{}", signup.email);
    Ok(())
}

fn main() {}
