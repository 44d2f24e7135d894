//! A nightly cleanup as an eventfn app: a `cron` schedule at 03:00 in Amsterdam (whatever the
//! season: EventBridge Scheduler reads it on the zone's clock), within a flexible window of 30
//! minutes, enqueues one job per table, and a queue consumes them in batches, each job retried on
//! its own.
//!
//! Run it in the sandbox and fire the schedule now (from the repository root):
//!
//! ```sh
//! cargo run -p cargo-eventfn -- eventfn dev -p nightly-cleanup
//! cargo run -p cargo-eventfn -- eventfn trigger nightly-cleanup
//! ```
//!
//! - `nightly` (schedule `nightly-cleanup`) enqueues a [`Purge`] of each of [`TABLES`], of rows
//!   older than its retention, counted from the schedule's firing time.
//! - `purge` consumes `cleanup` five jobs at a time; a job for a table it does not know fails
//!   alone, and is retried, then a dead letter, without holding up the others.

use eventfn::{Context, queue, schedule};
use serde::{Deserialize, Serialize};

/// Each table the night cleans, and how many days its rows are kept.
pub const TABLES: [(&str, u64); 3] = [("sessions", 30), ("uploads", 7), ("carts", 14)];

/// Delete the rows of `table` older than `before` (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purge {
    pub table: String,
    pub before: u64,
}

#[schedule(
    "cron(0 3 * * ? *)",
    name = "nightly-cleanup",
    timezone = "Europe/Amsterdam",
    flexible_window = "30 minutes",
    timeout = "30s"
)]
async fn nightly(ctx: Context) -> eventfn::Result<()> {
    let jobs: Vec<Purge> = TABLES
        .iter()
        .map(|(table, days)| Purge {
            table: (*table).to_owned(),
            before: ctx.time().saturating_sub(days * 24 * 3600 * 1000),
        })
        .collect();
    eventfn::enqueue_many("cleanup", &jobs).await
}

#[queue("cleanup", batch_size = 5, timeout = "1m", retries = 3)]
async fn purge(job: Purge) -> eventfn::Result<()> {
    if !TABLES.iter().any(|(table, _)| *table == job.table) {
        return Err(format!("no table `{}` to clean", job.table).into());
    }
    tracing::info!(table = %job.table, before = job.before, "purged");
    Ok(())
}
