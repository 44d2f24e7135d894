//! The budget-analysis app's handlers, run in-process with `eventfn::testing`.

use budget_analysis::{Analysis, BUDGET_ANALYSIS, Budget, Line};
use eventfn::Kind;
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
async fn a_submitted_budget_is_put_on_the_budgets_bus() {
    let app = TestApp::new().unwrap();
    let sales = budget("sales", 25_000, &[("travel", 25_000)]);
    let runs = app.publish("budget.submitted", &sales).await.unwrap();
    assert_eq!(runs[0].outcome, Outcome::Done);
    let sent = app.published();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].kind, sent[0].name.as_str()),
        (Kind::Rule, "budgets")
    );
    assert_eq!(sent[0].payload["source"], "budgets.intake");
    assert_eq!(sent[0].payload["detail-type"], BUDGET_ANALYSIS);
    assert_eq!(sent[0].payload["detail"]["amount"], 25_000);
}

#[tokio::test]
async fn a_large_budget_is_analysed_and_its_analysis_published() {
    let app = TestApp::new().unwrap();
    let sales = budget(
        "sales",
        25_000,
        &[("travel", 10_000), ("events", 10_000), ("travel", 5_000)],
    );
    let runs = app
        .put_event("budgets", "budgets.intake", BUDGET_ANALYSIS, &sales)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].handler, "budget_analysis::analyse");
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
async fn small_budgets_test_departments_and_other_types_never_reach_the_analysis() {
    let app = TestApp::new().unwrap();
    for (detail_type, skipped) in [
        (
            BUDGET_ANALYSIS,
            budget("sales", 9_999, &[("travel", 9_999)]),
        ),
        (
            BUDGET_ANALYSIS,
            budget("test", 50_000, &[("travel", 50_000)]),
        ),
        (
            "BUDGET_DRAFT",
            budget("sales", 50_000, &[("travel", 50_000)]),
        ),
    ] {
        let runs = app
            .put_event("budgets", "budgets.intake", detail_type, &skipped)
            .await
            .unwrap();
        assert_eq!(runs[0].outcome, Outcome::Filtered, "{skipped:?}");
    }
    assert!(app.published().is_empty());
    // Exactly 10000 is analysed; an unbalanced budget says so.
    let runs = app
        .put_event(
            "budgets",
            "budgets.intake",
            BUDGET_ANALYSIS,
            &budget("ops", 10_000, &[("cloud", 9_000)]),
        )
        .await
        .unwrap();
    assert_eq!(runs[0].outcome, Outcome::Done);
    assert_eq!(app.published()[0].payload["balanced"], false);
}

#[tokio::test]
async fn a_bus_no_rule_listens_on_and_a_detail_that_is_not_an_object_are_refused() {
    let app = TestApp::new().unwrap();
    let err = app
        .put_event(
            "budget",
            "budgets.intake",
            BUDGET_ANALYSIS,
            &budget("x", 1, &[]),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no rule of this app listens on bus `budget` (did you mean `budgets`?): its rules \
         listen on `budgets`"
    );
    let err = app
        .put_event("budgets", "budgets.intake", BUDGET_ANALYSIS, &[1, 2])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot put an event on bus `budgets`: its detail is not a JSON object ([1,2]): \
         EventBridge takes only objects; wrap the value in one, like {\"value\": ...}"
    );
}
