//! Ampt's `user.joined` flow as an eventfn app: when a user joins, a welcome mail goes out five
//! minutes later; a mail that could not go out within five hours of the signup is dropped rather
//! than sent late, and one whose sending failed three times is a dead letter.
//!
//! Run it in the sandbox and publish a signup (from the repository root):
//!
//! ```sh
//! cargo run -p cargo-eventfn -- eventfn dev -p user-joined
//! cargo run -p cargo-eventfn -- eventfn publish user.joined '{"id": "u1", "email": "ada@example.com"}'
//! ```
//!
//! - `user_joined` publishes `user.welcome-due` with `.after("5 minutes")`.
//! - `send_welcome_mail` (`retries = 2`: three attempts) drops a mail whose signup is more than
//!   five hours old, from its [`Context::time`](eventfn::Context::time) (the time the welcome
//!   was asked for) and delay; it fails for addresses of `bounce.example`, to show retries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventfn::{Context, event};
use serde::{Deserialize, Serialize};

/// Mails older than this are dropped: a welcome five hours late is worse than none.
pub const MAX_AGE: Duration = Duration::from_secs(5 * 3600);

/// A user who joined.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
}

#[event("user.joined")]
async fn user_joined(user: User) -> eventfn::Result<()> {
    eventfn::publish("user.welcome-due", &user)
        .after("5 minutes")
        .await
}

#[event("user.welcome-due", retries = 2, timeout = "10s")]
async fn send_welcome_mail(user: User, ctx: Context) -> eventfn::Result<()> {
    let due = ctx.time() + ctx.delay();
    let age = now_ms().saturating_sub(ctx.time());
    if age > MAX_AGE.as_millis() as u64 {
        tracing::warn!(user = %user.id, age_ms = age, due, "dropped: the signup is over five hours old");
        return Ok(());
    }
    if user.email.ends_with("@bounce.example") {
        return Err(format!(
            "the mail server refused {} (attempt {} of 3)",
            user.email,
            ctx.attempt()
        )
        .into());
    }
    tracing::info!(user = %user.id, "welcome mail sent to {}", user.email);
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
