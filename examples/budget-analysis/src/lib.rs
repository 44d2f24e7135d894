//! Stacktape's budget analysis as an eventfn app: a longer-running handler, with the time and
//! memory to match, subscribed only to the budgets worth its run, through a content filter.
//!
//! Run it in the sandbox and submit budgets (from the repository root):
//!
//! ```sh
//! cargo run -p cargo-eventfn -- eventfn dev -p budget-analysis
//! cargo run -p cargo-eventfn -- eventfn publish budget.submitted \
//!   '{"department": "sales", "amount": 25000, "lines": [{"category": "travel", "amount": 15000}, {"category": "events", "amount": 10000}]}'
//! ```
//!
//! - `analyse` (15 minutes, 2048 MB) takes `budget.submitted` events of 10000 or more from any
//!   department but `test`; smaller budgets and test departments never reach it (on AWS, its SNS
//!   subscription drops them; in the sandbox, `cargo eventfn events` lists them as `filtered`).
//!   It publishes `budget.analysed` with the totals by category and whether the lines add up.
//! - `report` receives every `budget.analysed`.

use std::collections::BTreeMap;

use eventfn::{Context, event};
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

#[event(
    "budget.submitted",
    filter = r#"{"amount": [{"numeric": [">=", 10000]}], "department": [{"anything-but": "test"}]}"#,
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
    tracing::info!(event = ctx.id(), department = %analysis.department, balanced = analysis.balanced, "analysed");
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
