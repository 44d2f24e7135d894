//! The nightly-cleanup app's handlers, run in-process with `eventfn::testing`.

use eventfn::Kind;
use eventfn::testing::{Batch, Outcome, TestApp};
use nightly_cleanup::{Purge, TABLES};

const DAY_MS: u64 = 24 * 3600 * 1000;

#[tokio::test]
async fn the_night_enqueues_one_purge_per_table_by_its_retention() {
    let app = TestApp::new().unwrap();
    assert_eq!(app.trigger("nightly-cleanup").await.unwrap(), Outcome::Done);
    let sent = app.published();
    assert_eq!(sent.len(), TABLES.len());
    let jobs: Vec<Purge> = sent
        .iter()
        .map(|s| {
            assert_eq!(
                (s.kind, s.name.as_str(), s.delay),
                (Kind::Queue, "cleanup", 0)
            );
            serde_json::from_value(s.payload.clone()).unwrap()
        })
        .collect();
    let tables: Vec<&str> = jobs.iter().map(|j| j.table.as_str()).collect();
    assert_eq!(tables, ["sessions", "uploads", "carts"]);
    // Each cutoff is its retention before the same firing time.
    let fired = jobs[0].before + 30 * DAY_MS;
    assert_eq!(jobs[1].before, fired - 7 * DAY_MS);
    assert_eq!(jobs[2].before, fired - 14 * DAY_MS);

    // The queue takes the night's jobs in one batch.
    assert_eq!(
        app.batch("cleanup", &jobs).await.unwrap(),
        Batch { failed: vec![] }
    );
}

/// The cutoffs count from the time the schedule was due, which `trigger_at` sets as Scheduler
/// does: 03:00 in Amsterdam on 15 January 2027 is 02:00 UTC.
#[tokio::test]
async fn the_cutoffs_count_from_the_time_the_night_was_due() {
    let app = TestApp::new().unwrap();
    let due = 1_799_978_400_000; // 2027-01-15T02:00:00Z
    assert_eq!(
        app.trigger_at("nightly-cleanup", due).await.unwrap(),
        Outcome::Done
    );
    let sessions: Purge = serde_json::from_value(app.published()[0].payload.clone()).unwrap();
    assert_eq!(sessions.before, due - 30 * DAY_MS);
}

#[tokio::test]
async fn a_job_for_an_unknown_table_fails_alone() {
    let app = TestApp::new().unwrap();
    let job = |table: &str| Purge {
        table: table.into(),
        before: 0,
    };
    assert_eq!(
        app.batch("cleanup", &[job("sessions"), job("orders"), job("carts")])
            .await
            .unwrap(),
        Batch { failed: vec![1] }
    );
    match app.call("purge", &job("orders"), 4).await.unwrap() {
        Outcome::Failed(why) => assert!(why.contains("no table `orders` to clean"), "{why}"),
        other => panic!("{other:?}"),
    }
}
