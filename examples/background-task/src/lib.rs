//! Architect's background task as an eventfn app: a client POSTs a task and is answered at
//! once; the work happens in the background, one event per step, and the task's status in a
//! store moves from `received` to `processing` to `complete`, which the client can poll.
//!
//! Run it in the sandbox, then the HTTP front beside it (from the repository root, with
//! `TASKS_DIR` the same for both):
//!
//! ```sh
//! export TASKS_DIR=$PWD/target/background-tasks
//! cargo run -p cargo-eventfn -- eventfn dev -p background-task
//! # in a second terminal, with the address `cargo eventfn dev` printed:
//! EVENTFN_SANDBOX=http://127.0.0.1:4747 cargo run -p background-task --example front
//! curl -si localhost:3000/tasks -H 'content-type: application/json' -d '{"background": "resize the photos"}'
//! curl -s localhost:3000/tasks/<the id it answered>
//! ```
//!
//! - `POST /tasks` ([`front`]) publishes `background-task` with a new id and answers
//!   `202 Accepted`, with the task's address in `Location`.
//! - [`receive`] stores the task as `received` and publishes `background-task.processing`
//!   [`PROCESSING_AFTER`] later; [`process`] marks it `processing` and publishes
//!   `background-task.complete` [`COMPLETE_AFTER`] later; [`complete`] marks it `complete`.
//! - `GET /tasks/{id}` answers the task as stored, `404` until it has been received.
//!
//! Every step may be delivered twice or late (as on AWS): a status never moves back, and a
//! step publishes the next one unless the task is already past it, so a retry after a failed
//! publish goes on where it stopped.

pub mod front;
pub mod store;

use eventfn::event;
use serde::{Deserialize, Serialize};

use crate::store::{Status, Tasks};

/// How long after its receipt a task starts processing.
pub const PROCESSING_AFTER: &str = "3 seconds";
/// How long processing takes.
pub const COMPLETE_AFTER: &str = "5 seconds";

/// What `POST /tasks` publishes as `background-task`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewTask {
    pub id: String,
    pub background: String,
}

/// The payload of the later steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
}

/// Stores the task as received, and asks for its processing.
#[event("background-task")]
pub async fn receive(task: NewTask) -> eventfn::Result<()> {
    let stored = Tasks::from_env()?.receive(&task.id, &task.background)?;
    tracing::info!(task = %task.id, status = ?stored.status, "received");
    next(&stored.id, stored.status, Status::Received).await
}

/// Marks the task as processing, and asks for its completion.
#[event("background-task.processing")]
pub async fn process(step: Step) -> eventfn::Result<()> {
    let stored = Tasks::from_env()?.advance(&step.id, Status::Processing)?;
    tracing::info!(task = %step.id, status = ?stored.status, "processing");
    next(&stored.id, stored.status, Status::Processing).await
}

/// Marks the task as complete.
#[event("background-task.complete")]
pub async fn complete(step: Step) -> eventfn::Result<()> {
    let stored = Tasks::from_env()?.advance(&step.id, Status::Complete)?;
    tracing::info!(task = %step.id, status = ?stored.status, "complete");
    Ok(())
}

/// Publishes the step after `done`, unless the task is already past `done`.
async fn next(id: &str, status: Status, done: Status) -> eventfn::Result<()> {
    if status > done {
        return Ok(());
    }
    let step = Step { id: id.to_owned() };
    match done {
        Status::Received => {
            eventfn::publish("background-task.processing", &step)
                .after(PROCESSING_AFTER)
                .await
        }
        Status::Processing => {
            eventfn::publish("background-task.complete", &step)
                .after(COMPLETE_AFTER)
                .await
        }
        Status::Complete => Ok(()),
    }
}
