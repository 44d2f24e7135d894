// Every option, at the edges of its range, and valid rate and cron expressions compile.
use eventfn::{event, queue, schedule};

#[event(
    "account-signup",
    timeout = "10s",
    retries = 3,
    memory = 512,
    concurrency = 5
)]
async fn event_options(payload: String) -> eventfn::Result<()> {
    let _ = payload;
    Ok(())
}

#[event(
    "user.joined_v2",
    timeout = "1m30s",
    retries = 0,
    memory = 128,
    concurrency = 1
)]
async fn lower_bounds(payload: String) -> eventfn::Result<()> {
    let _ = payload;
    Ok(())
}

#[event(
    "A1-b.c_d",
    timeout = "15m",
    retries = 999,
    memory = 10240,
    concurrency = 1000
)]
async fn upper_bounds(payload: String) -> eventfn::Result<()> {
    let _ = payload;
    Ok(())
}

#[event(
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    timeout = "15m"
)]
async fn longest_name(payload: String) -> eventfn::Result<()> {
    let _ = payload;
    Ok(())
}

#[event(
    "order.placed",
    filter = r#"{
        "total": [{"numeric": [">", 100, "<=", 1000000000]}],
        "country": ["NL", "BE", {"prefix": "D"}, {"equals-ignore-case": "fr"}],
        "customer": {"tier": [{"anything-but": ["trial", "free"]}], "ip": [{"cidr": "2001:db8::/32"}]},
        "$or": [{"coupon": [{"exists": true}]}, {"file": [{"suffix": ".pdf"}, {"anything-but": {"prefix": "tmp-"}}]}]
    }"#,
    retries = 2
)]
async fn filtered(payload: String) -> eventfn::Result<()> {
    let _ = payload;
    Ok(())
}

#[queue(
    "thumbnails",
    batch_size = 10000,
    fifo = false,
    timeout = "1s",
    retries = 2,
    memory = 2048,
    concurrency = 10
)]
async fn queue_options(job: String) -> eventfn::Result<()> {
    let _ = job;
    Ok(())
}

#[queue("orders", fifo = true, batch_size = 10)]
async fn fifo_queue(order: String) -> eventfn::Result<()> {
    let _ = order;
    Ok(())
}

#[queue("orders-small", batch_size = 1, fifo = true)]
async fn trailing_comma(order: String) -> eventfn::Result<()> {
    let _ = order;
    Ok(())
}

#[schedule(
    "rate(1 minute)",
    name = "every-minute",
    timeout = "5m",
    retries = 1,
    memory = 256,
    concurrency = 1
)]
async fn schedule_options() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("rate(2 hours)")]
async fn rate_hours() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("cron(0 18 ? * MON-FRI *)")]
async fn cron_weekdays() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("cron(0/5 8-17 ? * 2#1 2030-2040)")]
async fn cron_steps_ranges_hash() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("cron(0,15,30,45 * L JAN,jul ? *)")]
async fn cron_lists_last_day() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("cron(0 12 15W * ? *)")]
async fn cron_nearest_weekday() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("cron(0 12 ? * 6L *)")]
async fn cron_last_friday() -> eventfn::Result<()> {
    Ok(())
}

fn main() {}

// Time zones, one-time schedules and flexible windows.
#[schedule("cron(0 9 ? * MON-FRI *)", timezone = "Europe/Amsterdam")]
async fn in_a_zone() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("at(2026-12-31T23:00:00)", timezone = "America/New_York", name = "new-year")]
async fn one_time() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("rate(1 hour)", flexible_window = "15 minutes", timezone = "UTC")]
async fn flexible() -> eventfn::Result<()> {
    Ok(())
}

#[schedule("cron(30 2 * * ? *)", flexible_window = "24 hours")]
async fn widest_window() -> eventfn::Result<()> {
    Ok(())
}
