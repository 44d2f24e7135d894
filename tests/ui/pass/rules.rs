// Every shape of `#[rule]`: each kind of bus, the detail typed or taken whole, options, `name`.
use eventfn::{Context, rule};
use serde::Deserialize;

#[derive(Deserialize)]
struct Budget {
    amount: f64,
}

#[rule(
    bus = "budgets",
    pattern = r#"{"detail-type": ["BUDGET_ANALYSIS"], "detail": {"amount": [{"numeric": [">=", 10000]}]}}"#,
    timeout = "15m",
    retries = 3
)]
async fn analyse(budget: Budget, ctx: Context) -> eventfn::Result<()> {
    let _ = (budget.amount, ctx.source(), ctx.detail_type(), ctx.resources());
    Ok(())
}

#[rule(bus = "default", pattern = r#"{"source": ["aws.ec2"]}"#, name = "ec2-changes")]
async fn whole(event: aws_lambda_events::event::eventbridge::EventBridgeEvent) -> eventfn::Result<()> {
    let _ = event.source;
    Ok(())
}

#[rule(
    bus = "aws.partner/example.com/123456789012/orders",
    pattern = r#"{"detail": {"key": [{"wildcard": "uploads/*.png"}], "$or": [{"a": [{"prefix": {"equals-ignore-case": "x"}}]}, {"b": [{"anything-but": {"suffix": [".tmp", ".bak"]}}]}]}}"#
)]
async fn partner(ctx: Context) -> eventfn::Result<()> {
    let _ = ctx;
    Ok(())
}

#[rule(
    bus = "arn:aws:events:eu-west-1:123456789012:event-bus/shared",
    pattern = r#"{"source": ["shop"]}"#
)]
async fn nothing() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}
