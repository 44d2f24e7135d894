//! The user-joined app's handlers, run in-process with `eventfn::testing`.

use std::time::{SystemTime, UNIX_EPOCH};

use eventfn::Delivery;
use eventfn::testing::{Outcome, TestApp};
use user_joined::User;

fn ada() -> User {
    User {
        id: "u1".into(),
        email: "ada@example.com".into(),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn published_hours_ago(hours: u64, attempt: u32) -> Delivery {
    Delivery {
        id: "m-1".into(),
        time: now_ms() - hours * 3600 * 1000,
        delay: 300_000,
        attempt,
        deadline: None,
    }
}

#[tokio::test]
async fn a_join_asks_for_the_welcome_mail_five_minutes_later() {
    let app = TestApp::new().unwrap();
    let runs = app.publish("user.joined", &ada()).await.unwrap();
    assert_eq!(runs[0].outcome, Outcome::Done);
    let sent = app.published();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].name, "user.welcome-due");
    assert_eq!(sent[0].delay, 5 * 60 * 1000);
    assert_eq!(
        sent[0].payload,
        serde_json::json!({"id": "u1", "email": "ada@example.com"})
    );
    assert_eq!(
        app.deliver("send_welcome_mail", &ada(), published_hours_ago(0, 1))
            .await
            .unwrap(),
        Outcome::Done
    );
}

#[tokio::test]
async fn a_mail_older_than_five_hours_is_dropped_even_when_it_would_fail() {
    let app = TestApp::new().unwrap();
    let bouncing = User {
        id: "u2".into(),
        email: "bob@bounce.example".into(),
    };
    assert_eq!(
        app.deliver("send_welcome_mail", &bouncing, published_hours_ago(6, 1))
            .await
            .unwrap(),
        Outcome::Done
    );
    // Four hours old: still sent, so the bounce fails it, on every one of its three attempts.
    for attempt in 1..=3 {
        match app
            .deliver(
                "send_welcome_mail",
                &bouncing,
                published_hours_ago(4, attempt),
            )
            .await
            .unwrap()
        {
            Outcome::Failed(why) => assert!(
                why.contains(&format!(
                    "the mail server refused bob@bounce.example (attempt {attempt} of 3)"
                )),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
