//! The handlers of this test binary, found through the registry and called as the runtime will.

use std::sync::atomic::{AtomicU32, Ordering};

use eventfn::{Context, Delivery, Entry, Kind, event, queue, schedule};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Signup {
    #[allow(dead_code)] // read through Debug in the assertion messages
    user: User,
}

#[derive(Debug, Deserialize)]
struct User {
    #[allow(dead_code)]
    email: String,
}

static SEEN_ATTEMPT: AtomicU32 = AtomicU32::new(0);

#[event("account-signup", retries = 4)]
async fn welcome(signup: Signup, ctx: Context) -> eventfn::Result<()> {
    let _ = signup;
    SEEN_ATTEMPT.store(ctx.attempt(), Ordering::SeqCst);
    assert_eq!(ctx.name(), "account-signup");
    assert_eq!(ctx.handler(), "registry::welcome");
    Ok(())
}

#[queue("jobs")]
async fn failing(job: u32) -> Result<(), String> {
    Err(format!("job {job} failed"))
}

#[schedule("rate(1 minute)")]
async fn tick() -> eventfn::Result<()> {
    Ok(())
}

fn entry(function: &str) -> &'static Entry {
    eventfn::handlers()
        .unwrap()
        .iter()
        .find(|e| e.registration.function == function)
        .unwrap_or_else(|| panic!("{function} is registered"))
}

fn delivery(attempt: u32) -> Delivery {
    Delivery {
        id: "m-1".into(),
        time: 1_700_000_000_000,
        delay: 0,
        attempt,
        deadline: None,
    }
}

#[test]
fn every_handler_is_registered_with_its_options() {
    let handlers = eventfn::handlers().unwrap();
    assert_eq!(handlers.len(), 3);
    let welcome = &entry("registry::welcome").registration;
    assert_eq!(welcome.kind, Kind::Event);
    assert_eq!(welcome.payload.as_deref(), Some("Signup"));
    assert!(welcome.context);
    assert_eq!(welcome.options.retries, Some(4));
    assert_eq!(welcome.file, "runtime/tests/registry.rs");
    let tick = &entry("registry::tick").registration;
    assert_eq!(tick.name, "tick");
    assert_eq!(tick.schedule.as_deref(), Some("rate(1 minute)"));
}

#[tokio::test]
async fn calls_the_handler_with_payload_and_context() {
    let payload = r#"{"user":{"email":"a@example.com"}}"#.to_owned();
    entry("registry::welcome")
        .invoke(payload, delivery(3))
        .await
        .unwrap();
    assert_eq!(SEEN_ATTEMPT.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_payload_that_does_not_fit_names_event_handler_type_and_field() {
    let payload = r#"{"user":{"email":42}}"#.to_owned();
    let err = entry("registry::welcome")
        .invoke(payload, delivery(1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "event `account-signup`: handler `registry::welcome` cannot read the payload as `Signup`: \
         field `user.email`: invalid type: integer `42`, expected a string at line 1 column 19"
    );
    let field = err
        .downcast_ref::<eventfn::PayloadError>()
        .unwrap()
        .field()
        .to_owned();
    assert_eq!(field, "user.email");
}

#[tokio::test]
async fn handler_errors_come_back_as_they_were_written() {
    let err = entry("registry::failing")
        .invoke("7".into(), delivery(1))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "job 7 failed");
    assert_eq!(format!("{err:?}"), "job 7 failed");
}

#[tokio::test]
async fn publishing_without_a_bus_is_a_clear_error() {
    let err = eventfn::enqueue("jobs", &1).await.unwrap_err();
    assert!(
        err.to_string().contains("no event bus is connected"),
        "{err}"
    );
}
