//! The background task's steps run in-process with `eventfn::testing`, and its HTTP front
//! answered in-process, its publishes recorded by the same `TestApp`. The store is the default
//! one (`TASKS_DIR` is not set by these tests); each test uses task ids of its own.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use background_task::store::{Status, Tasks};
use background_task::{COMPLETE_AFTER, NewTask, PROCESSING_AFTER, front};
use eventfn::Kind;
use eventfn::testing::{Outcome, Run, Sent, TestApp};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A task id no other test (or run) uses.
fn id(test: &str) -> String {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}-{}-{ns}", std::process::id())
}

/// Removes a test's task from the store (the default one is shared by every run).
fn forget(id: &str) {
    let _ = std::fs::remove_file(Tasks::from_env().unwrap().dir().join(format!("{id}.json")));
}

fn status(id: &str) -> Option<Status> {
    Tasks::from_env()
        .unwrap()
        .get(id)
        .unwrap()
        .map(|t| t.status)
}

fn done(handler: &'static str) -> Vec<Run> {
    vec![Run {
        handler,
        outcome: Outcome::Done,
    }]
}

fn ms(after: &str) -> u64 {
    let seconds: u64 = after.split(' ').next().unwrap().parse().unwrap();
    seconds * 1000
}

#[tokio::test]
async fn a_task_moves_through_received_processing_and_complete() {
    let app = TestApp::new().unwrap();
    let id = id("steps");
    let task = NewTask {
        id: id.clone(),
        background: "resize the photos".into(),
    };

    let runs = app.publish("background-task", &task).await.unwrap();
    assert_eq!(runs, done("background_task::receive"));
    assert_eq!(status(&id), Some(Status::Received));
    let step = json!({ "id": id });
    assert_eq!(
        app.published(),
        vec![Sent {
            kind: Kind::Event,
            name: "background-task.processing".into(),
            payload: step.clone(),
            delay: ms(PROCESSING_AFTER),
        }]
    );

    let runs = app
        .publish("background-task.processing", &step)
        .await
        .unwrap();
    assert_eq!(runs, done("background_task::process"));
    assert_eq!(status(&id), Some(Status::Processing));
    let sent = app.published();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].name, "background-task.complete");
    assert_eq!(sent[1].delay, ms(COMPLETE_AFTER));

    let runs = app
        .publish("background-task.complete", &step)
        .await
        .unwrap();
    assert_eq!(runs, done("background_task::complete"));
    assert_eq!(status(&id), Some(Status::Complete));

    // Delivered again, late: nothing moves back and nothing more is published.
    app.publish("background-task", &task).await.unwrap();
    app.publish("background-task.processing", &step)
        .await
        .unwrap();
    assert_eq!(status(&id), Some(Status::Complete));
    assert_eq!(app.published().len(), 2);
    forget(&id);
}

#[tokio::test]
async fn a_failed_publish_is_retried_where_it_stopped_and_unknown_tasks_fail() {
    let app = TestApp::new().unwrap();
    let id = id("retry");
    let task = NewTask {
        id: id.clone(),
        background: "index the archive".into(),
    };
    app.fail_publishes("SNS is throttling");
    let runs = app.publish("background-task", &task).await.unwrap();
    match &runs[0].outcome {
        Outcome::Failed(why) => assert!(why.contains("SNS is throttling"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The receipt was stored before the publish failed.
    assert_eq!(status(&id), Some(Status::Received));
    assert!(app.published().is_empty());

    // The retry finds the task received and asks for its processing again.
    app.publishes_succeed();
    assert_eq!(app.call("receive", &task, 2).await.unwrap(), Outcome::Done);
    assert_eq!(app.published()[0].name, "background-task.processing");

    let unknown = app
        .call("process", &json!({ "id": "never-received" }), 1)
        .await
        .unwrap();
    match unknown {
        Outcome::Failed(why) => assert!(
            why.contains("task `never-received` is not in the store"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    let bad = app
        .call("process", &json!({ "id": "../../etc/passwd" }), 1)
        .await
        .unwrap();
    match bad {
        Outcome::Failed(why) => assert!(why.contains("is not a task id"), "{why}"),
        other => panic!("{other:?}"),
    }
    forget(&id);
}

async fn answer(app: &TestApp, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let router = front::router(Arc::new(Tasks::from_env().unwrap()));
    let response = app.record(router.oneshot(request)).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, location, body)
}

fn post(body: &str) -> Request<Body> {
    Request::post("/tasks")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_front_publishes_a_posted_task_and_answers_its_status() {
    let app = TestApp::new().unwrap();
    let (status, location, body) =
        answer(&app, post(r#"{"background": "send the invoices"}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(location.as_deref(), Some(format!("/tasks/{id}").as_str()));
    let sent = app.published();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].name, "background-task");
    assert_eq!(
        sent[0].payload,
        json!({ "id": id, "background": "send the invoices" })
    );

    let path = format!("/tasks/{id}");
    let (status, _, body) = answer(&app, get(&path)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        format!("task `{id}` has not been received (yet)")
    );

    // The event it published, delivered: the front reads what the handler stored.
    app.publish("background-task", &sent[0].payload)
        .await
        .unwrap();
    let (status, _, body) = answer(&app, get(&path)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "received");
    assert_eq!(body["background"], "send the invoices");
    forget(&id);
}

#[tokio::test]
async fn the_front_refuses_what_is_not_a_task_and_says_when_it_cannot_publish() {
    let app = TestApp::new().unwrap();
    let (status, _, body) = answer(&app, post(r#"{"background": "  "}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "`background` is empty");
    let (status, _, body) = answer(&app, post(r#"{"task": "x"}"#)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `task`"),
        "{body}"
    );
    let (status, _, _) = answer(&app, post("not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let untyped = Request::post("/tasks")
        .body(Body::from(r#"{"background": "x"}"#))
        .unwrap();
    let (status, _, _) = answer(&app, untyped).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Too large for an event: the client's to fix, not a reason to try again.
    let huge = json!({ "background": "x".repeat(eventfn::MAX_PAYLOAD_BYTES) }).to_string();
    let (status, _, body) = answer(&app, post(&huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("an event holds at most"),
        "{body}"
    );
    assert!(app.published().is_empty());
    let (status, _, body) = answer(&app, get("/tasks/a%20b")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("is not a task id"),
        "{body}"
    );

    app.fail_publishes("the sandbox is not running");
    let (status, location, body) = answer(&app, post(r#"{"background": "x"}"#)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(location, None);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("the task was not taken on: cannot send to event `background-task`"),
        "{body}"
    );
    assert!(app.published().is_empty());
}
