// The generated code names primitive types by full path, so a module may shadow `u8` and `usize`.
#![allow(non_camel_case_types, dead_code)]

use eventfn::event;

struct u8;
struct usize;

#[event("ping")]
async fn ping(payload: ::std::string::String) -> eventfn::Result<()> {
    let _ = payload;
    Ok(())
}

fn main() {}
