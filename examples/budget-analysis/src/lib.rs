//! Stacktape's budget analysis (its "Event Buses" page) as an eventfn app: a publisher puts
//! `BUDGET_ANALYSIS` events on the app's own EventBridge bus, `budgets`, and a longer-running
//! handler, with the time and memory to match, reacts to those worth its run through an event
//! pattern.
//!
//! Run it in the sandbox and submit budgets (from the repository root):
//!
//! ```sh
//! cargo run -p cargo-eventfn -- eventfn dev -p budget-analysis
//! cargo run -p cargo-eventfn -- eventfn publish budget.submitted \
//!   '{"department": "sales", "amount": 25000, "lines": [{"category": "travel", "amount": 15000}, {"category": "events", "amount": 10000}]}'
//! # or straight onto the bus:
//! cargo run -p cargo-eventfn -- eventfn publish --bus budgets --source budgets.intake \
//!   --detail-type BUDGET_ANALYSIS '{"department": "ops", "amount": 12000, "lines": []}'
//! ```
//!
//! - `submit` takes `budget.submitted` events (Stacktape's HTTP-triggered publisher) and puts
//!   each budget on the `budgets` bus as a `BUDGET_ANALYSIS` event from `budgets.intake`.
//! - `analyse` (15 minutes, 2048 MB) is a rule on that bus for `BUDGET_ANALYSIS` events of 10000
//!   or more from any department but `test`; the others never reach it (on AWS, its rule does
//!   not match them; in the sandbox, `cargo eventfn events` lists them as `filtered`). It
//!   publishes `budget.analysed` with the totals by category and whether the lines add up.
//! - `report` receives every `budget.analysed`.

use std::collections::BTreeMap;

use eventfn::{Context, event, rule};
use serde::{Deserialize, Serialize};

/// A department's budget, as submitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Budget {
    pub department: String,
    pub amount: u64,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub category: String,
    pub amount: u64,
}

/// What the analysis found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub department: String,
    pub by_category: BTreeMap<String, u64>,
    /// The lines' total, against the amount submitted.
    pub lines_total: u64,
    pub balanced: bool,
}

/// The type of the events `submit` puts on the bus, and `analyse` matches on.
pub const BUDGET_ANALYSIS: &str = "BUDGET_ANALYSIS";

#[event("budget.submitted")]
async fn submit(budget: Budget) -> eventfn::Result<()> {
    eventfn::put_event("budgets", BUDGET_ANALYSIS, &budget)
        .source("budgets.intake")
        .await
}

#[rule(
    bus = "budgets",
    pattern = r#"{"detail-type": ["BUDGET_ANALYSIS"],
                  "detail": {"amount": [{"numeric": [">=", 10000]}], "department": [{"anything-but": "test"}]}}"#,
    timeout = "15m",
    memory = 2048,
    retries = 1
)]
async fn analyse(budget: Budget, ctx: Context) -> eventfn::Result<()> {
    let mut by_category = BTreeMap::new();
    for line in &budget.lines {
        *by_category.entry(line.category.clone()).or_insert(0) += line.amount;
    }
    let lines_total = budget.lines.iter().map(|l| l.amount).sum();
    let analysis = Analysis {
        department: budget.department,
        by_category,
        lines_total,
        balanced: lines_total == budget.amount,
    };
    tracing::info!(event = ctx.event_id(), source = ctx.source(), department = %analysis.department, balanced = analysis.balanced, "analysed");
    ctx.publish("budget.analysed", &analysis).await
}

#[event("budget.analysed")]
async fn report(analysis: Analysis) -> eventfn::Result<()> {
    tracing::info!(
        department = %analysis.department,
        "budget of {} {}",
        analysis.department,
        if analysis.balanced { "balances" } else { "does not balance" }
    );
    Ok(())
}
