// Every handler shape compiles: `async fn(T)`, `async fn(T, Context)`, `async fn(Context)`, `async fn()`.
use eventfn::{Context, event, queue, schedule};
use serde::Deserialize;

#[derive(Deserialize)]
struct Signup {
    email: String,
}

#[event("signup")]
async fn payload_only(signup: Signup) -> eventfn::Result<()> {
    println!("{}", signup.email);
    Ok(())
}

#[event("signup")]
async fn payload_and_context(signup: Signup, ctx: Context) -> eventfn::Result<()> {
    println!("{} {}", signup.email, ctx.id());
    Ok(())
}

#[event("signup")]
async fn context_only(ctx: Context) -> eventfn::Result<()> {
    println!("{}", ctx.name());
    Ok(())
}

#[event("signup")]
async fn no_arguments() -> eventfn::Result<()> {
    Ok(())
}

// The context written as a full path, and payloads of generic and library types.
#[event("signup")]
async fn full_path_context(signups: Vec<Signup>, ctx: eventfn::Context) -> eventfn::Result<()> {
    println!("{} {}", signups.len(), ctx.attempt());
    Ok(())
}

#[event("raw")]
async fn json_value(value: serde_json::Value) -> eventfn::Result<()> {
    println!("{value}");
    Ok(())
}

#[queue("jobs")]
async fn queue_payload(job: Option<Signup>) -> eventfn::Result<()> {
    let _ = job;
    Ok(())
}

#[queue("jobs")]
async fn queue_payload_and_context(job: (String, u32), _ctx: Context) -> eventfn::Result<()> {
    let _ = job;
    Ok(())
}

#[queue("jobs")]
async fn queue_context_only(_ctx: Context) -> eventfn::Result<()> {
    Ok(())
}

#[queue("jobs")]
async fn queue_no_arguments() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("rate(1 day)")]
async fn schedule_context(ctx: Context) -> eventfn::Result<()> {
    println!("{}", ctx.attempt());
    Ok(())
}

#[schedule("cron(0 12 * * ? *)")]
async fn schedule_no_arguments() -> eventfn::Result<()> {
    Ok(())
}

// Attributes on functions inside modules, and with a raw identifier as their name.
mod nested {
    use eventfn::schedule;

    #[schedule("rate(5 minutes)")]
    pub async fn r#loop() -> eventfn::Result<()> {
        Ok(())
    }
}

fn main() {}
