// A payload owns its data (`DeserializeOwned`): it cannot borrow from the message.
use eventfn::event;
use serde::Deserialize;

#[derive(Deserialize)]
struct Signup<'a> {
    email: &'a str,
}

#[event("signup")]
async fn handler(signup: Signup<'static>) -> eventfn::Result<()> {
    println!("{}", signup.email);
    Ok(())
}

fn main() {}
