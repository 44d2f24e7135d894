//! The account-signup flow of Architect's docs, as an eventfn app.
//!
//! The handlers live in this library so that tests can link them (`tests/welcome.rs` runs them
//! with `eventfn::testing`); `src/main.rs` is the app, which links them too.
//!
//! Build its manifest and Lambda artifact (from the repository root):
//!
//! ```sh
//! cargo run -p cargo-eventfn -- eventfn build --manifest-path examples/welcome/Cargo.toml
//! ```
//!
//! - `account-signup` has two subscribers: `send_welcome` asks for the address to be checked by
//!   publishing `account-check-email`; `audit` records the signup, with its own timeout and retries.
//! - `check_email` handles `account-check-email`.
//! - `daily_cleanup` runs once a day; `noon_report` at 12:00 UTC on weekdays.
//! - `thumbnail` consumes the `thumbnails` queue ten jobs at a time.

use eventfn::{Context, event, queue, schedule};
use serde::{Deserialize, Serialize};

/// What the sign-up form posts.
#[derive(Debug, Serialize, Deserialize)]
pub struct Signup {
    pub user_id: String,
    pub email: String,
}

/// A picture to make a thumbnail of.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub bucket: String,
    pub key: String,
    pub width: u32,
}

#[event("account-signup")]
async fn send_welcome(signup: Signup, ctx: Context) -> eventfn::Result<()> {
    println!("welcome, {} (event {})", signup.email, ctx.id());
    ctx.publish("account-check-email", &signup).await?;
    Ok(())
}

#[event("account-signup", timeout = "10s", retries = 3)]
async fn audit(signup: Signup) -> eventfn::Result<()> {
    println!("audit: user {} signed up", signup.user_id);
    Ok(())
}

#[event("account-check-email")]
async fn check_email(signup: Signup) -> eventfn::Result<()> {
    if !signup.email.contains('@') {
        return Err(format!("`{}` is not an email address", signup.email).into());
    }
    println!("checked {}", signup.email);
    Ok(())
}

#[schedule("rate(1 day)")]
async fn daily_cleanup(ctx: Context) -> eventfn::Result<()> {
    println!("cleaning up, attempt {}", ctx.attempt());
    Ok(())
}

#[schedule("cron(0 12 ? * MON-FRI *)", name = "noon-report")]
async fn noon_report() -> eventfn::Result<()> {
    println!("noon report");
    Ok(())
}

#[queue("thumbnails", batch_size = 10, timeout = "1m", memory = 2048)]
async fn thumbnail(job: Job) -> eventfn::Result<()> {
    println!(
        "thumbnail of s3://{}/{} at {}px",
        job.bucket, job.key, job.width
    );
    Ok(())
}
