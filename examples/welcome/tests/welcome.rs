//! The welcome app's handlers, run in-process with `eventfn::testing`.

use eventfn::testing::{Batch, Outcome, TestApp};
use welcome::{Job, Signup};

fn ada() -> Signup {
    Signup {
        user_id: "u1".into(),
        email: "ada@example.com".into(),
    }
}

#[tokio::test]
async fn a_signup_is_welcomed_audited_and_its_address_sent_to_be_checked() {
    let app = TestApp::new().unwrap();
    let runs = app.publish("account-signup", &ada()).await.unwrap();
    let mut handlers: Vec<&str> = runs.iter().map(|r| r.handler).collect();
    handlers.sort_unstable();
    assert_eq!(handlers, ["welcome::audit", "welcome::send_welcome"]);
    assert!(runs.iter().all(|r| r.outcome == Outcome::Done), "{runs:?}");

    let sent = app.published();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].name, "account-check-email");
    assert_eq!(
        sent[0].payload,
        serde_json::json!({"user_id": "u1", "email": "ada@example.com"})
    );
    // What send_welcome published is what check_email takes.
    let checked = app.publish("account-check-email", &ada()).await.unwrap();
    assert_eq!(checked[0].outcome, Outcome::Done);
}

#[tokio::test]
async fn an_address_without_at_fails_its_check_on_every_attempt() {
    let app = TestApp::new().unwrap();
    let bad = Signup {
        user_id: "u2".into(),
        email: "not-an-address".into(),
    };
    for attempt in 1..=3 {
        match app.call("check_email", &bad, attempt).await.unwrap() {
            Outcome::Failed(why) => {
                assert!(
                    why.contains("`not-an-address` is not an email address"),
                    "{why}"
                )
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn schedules_run_and_thumbnails_are_made_in_batches() {
    let app = TestApp::new().unwrap();
    assert_eq!(app.trigger("daily_cleanup").await.unwrap(), Outcome::Done);
    assert_eq!(app.trigger("noon-report").await.unwrap(), Outcome::Done);
    let jobs: Vec<Job> = (1..=3)
        .map(|i| Job {
            bucket: "photos".into(),
            key: format!("{i}.jpg"),
            width: 200,
        })
        .collect();
    assert_eq!(
        app.batch("thumbnails", &jobs).await.unwrap(),
        Batch { failed: vec![] }
    );
    // A job that is not a job fails its record alone.
    let mixed = [
        serde_json::json!({"bucket": "photos", "key": "1.jpg", "width": 200}),
        serde_json::json!({"bucket": "photos"}),
    ];
    assert_eq!(
        app.batch("thumbnails", &mixed).await.unwrap(),
        Batch { failed: vec![1] }
    );
}
