//! The HTTP front: `POST /tasks` takes a task and publishes it, `GET /tasks/{id}` reads it
//! back. It runs beside the app (`examples/front.rs`), as Architect's `post-background` HTTP
//! function does; eventfn itself deploys background functions only.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::NewTask;
use crate::store::{Tasks, check_id};

/// The body of `POST /tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    /// What to do.
    pub background: String,
}

/// The front's routes, over the store `tasks`.
pub fn router(tasks: Arc<Tasks>) -> Router {
    Router::new()
        .route("/tasks", post(submit))
        .route("/tasks/{id}", get(status))
        .with_state(tasks)
}

/// Publishes a new task: `202 Accepted` with its id and address. Refused, with why in
/// `{"error": ...}`: `400` for a body that is not JSON or an empty `background`, `415` without a
/// JSON content type, `422` for JSON that is not a task, `413` for a task too large to publish,
/// and `503` when the event could not be published (nothing was taken on: try again).
async fn submit(body: Result<Json<Submit>, JsonRejection>) -> Response {
    let Json(submit) = match body {
        Ok(body) => body,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    if submit.background.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "`background` is empty".to_owned());
    }
    let task = NewTask {
        id: new_id(),
        background: submit.background,
    };
    // Too large for an event is the client's to fix, not a reason to try again.
    let size = serde_json::to_string(&task).map_or(usize::MAX, |json| json.len());
    if size > eventfn::MAX_PAYLOAD_BYTES {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the task is {size} bytes as JSON; an event holds at most {}: store large input \
                 elsewhere and send its key",
                eventfn::MAX_PAYLOAD_BYTES
            ),
        );
    }
    if let Err(e) = eventfn::publish("background-task", &task).await {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the task was not taken on: {e}"),
        );
    }
    let location = format!("/tasks/{}", task.id);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location.clone())],
        Json(json!({ "id": task.id, "status": location })),
    )
        .into_response()
}

/// The task as stored; `404` until its `background-task` event has been received.
async fn status(State(tasks): State<Arc<Tasks>>, Path(id): Path<String>) -> Response {
    if let Err(e) = check_id(&id) {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    match tasks.get(&id) {
        Ok(Some(task)) => Json(task).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("task `{id}` has not been received (yet)"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn error(status: StatusCode, why: String) -> Response {
    (status, Json(json!({ "error": why }))).into_response()
}

/// A new task id: the time in milliseconds and 64 random bits, so that no two calls, in this
/// front or another one, share one.
fn new_id() -> String {
    // `RandomState` is seeded from the operating system's randomness; hashing a count and the
    // time with it gives random bits without a random-number crate.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(now.as_nanos());
    format!("{:x}-{:016x}", now.as_millis(), hasher.finish())
}
