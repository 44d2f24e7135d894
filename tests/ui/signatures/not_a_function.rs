// The attributes go on functions, not on other items.
use eventfn::event;

#[event("signup")]
struct Signup {
    email: String,
}

fn main() {}
