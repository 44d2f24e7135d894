// Handlers may return any `Result<(), E>` with `E: Display`, under any path.
use eventfn::{event, queue, schedule};

#[event("signup")]
async fn string_error(payload: String) -> Result<(), String> {
    if payload.is_empty() {
        return Err("empty".to_owned());
    }
    Ok(())
}

#[queue("jobs")]
async fn io_result(job: String) -> std::io::Result<()> {
    let _ = job;
    Ok(())
}

#[schedule("rate(1 day)")]
async fn std_result() -> std::result::Result<(), std::fmt::Error> {
    Ok(())
}

#[event("signup")]
async fn boxed_error(payload: String) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let _: u32 = payload.parse()?;
    Ok(())
}

fn main() {}
