//! The budget-analysis app's handlers, run in-process with `eventfn::testing`.

use budget_analysis::{Analysis, Budget, Line};
use eventfn::testing::{Outcome, TestApp};

fn budget(department: &str, amount: u64, lines: &[(&str, u64)]) -> Budget {
    Budget {
        department: department.into(),
        amount,
        lines: lines
            .iter()
            .map(|(category, amount)| Line {
                category: (*category).into(),
                amount: *amount,
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_large_budget_is_analysed_and_its_analysis_published() {
    let app = TestApp::new().unwrap();
    let sales = budget(
        "sales",
        25_000,
        &[("travel", 10_000), ("events", 10_000), ("travel", 5_000)],
    );
    let runs = app.publish("budget.submitted", &sales).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, Outcome::Done);
    let sent = app.published();
    assert_eq!(sent[0].name, "budget.analysed");
    let analysis: Analysis = serde_json::from_value(sent[0].payload.clone()).unwrap();
    assert_eq!(analysis.by_category["travel"], 15_000);
    assert_eq!(analysis.by_category["events"], 10_000);
    assert!(analysis.balanced);
    let reported = app.publish("budget.analysed", &analysis).await.unwrap();
    assert_eq!(reported[0].outcome, Outcome::Done);
}

#[tokio::test]
async fn small_budgets_and_test_departments_never_reach_the_analysis() {
    let app = TestApp::new().unwrap();
    for skipped in [
        budget("sales", 9_999, &[("travel", 9_999)]),
        budget("test", 50_000, &[("travel", 50_000)]),
    ] {
        let runs = app.publish("budget.submitted", &skipped).await.unwrap();
        assert_eq!(runs[0].outcome, Outcome::Filtered, "{skipped:?}");
    }
    assert!(app.published().is_empty());
    // Exactly 10000 is analysed; an unbalanced budget says so.
    let runs = app
        .publish(
            "budget.submitted",
            &budget("ops", 10_000, &[("cloud", 9_000)]),
        )
        .await
        .unwrap();
    assert_eq!(runs[0].outcome, Outcome::Done);
    assert_eq!(app.published()[0].payload["balanced"], false);
}
