#![warn(missing_docs)]
//! Background functions on AWS for Rust: pub/sub **events**, **scheduled** jobs and **queues**,
//! declared as attributes on async functions and checked as they compile.
//!
//! This page is a tutorial: every example on it is compiled, and most are run, by the test
//! command (the first one is only compiled: it would start the sandbox). It goes from handlers to what runs on AWS:
//!
//! 1. [Handlers](#1-handlers): `#[event]`, `#[schedule]`, `#[queue]` and their options
//! 2. [Publishing](#2-publishing): [`publish`], [`enqueue`] and what is checked before sending
//! 3. [Delays](#3-delays): [`Publish::after`], and discarding what came too late
//! 4. [Retries and dead letters](#4-retries-timeouts-and-dead-letters): attempts, timeouts, what
//!    happens when they are spent
//! 5. [Queues](#5-queues): batches, partial failures, FIFO
//! 6. [Schedules](#6-schedules): `rate`, `cron` and `at`, in a time zone
//! 7. [Filters](#7-filters): which payloads reach a handler; [rules](#rules-events-of-an-eventbridge-bus):
//!    `#[rule]` and [`put_event`], EventBridge buses
//! 8. [The sandbox](#8-the-sandbox-cargo-eventfn-dev): the app on this machine, offline
//! 9. [Building and deploying](#9-building-and-deploying): the manifest, the template, the stack
//! 10. [Testing](#10-testing): [`testing::TestApp`]
//! 11. [Limits](#11-limits-and-how-they-map-to-aws), and how they map to AWS
//!
//! An app is a binary crate that depends on `eventfn` (with `serde` for payloads and `tokio` for
//! `main`):
//!
//! ```toml
//! [dependencies]
//! eventfn = "0.1"
//! serde = { version = "1", features = ["derive"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//!
//! [dev-dependencies]
//! eventfn = { version = "0.1", features = ["testing"] }
//! ```
//!
//! Features, none on by default: `cargo eventfn dev` turns `sandbox` on (the app offline), and
//! `cargo eventfn build` and `deploy` turn `aws` on (publishing through SNS, SQS and EventBridge
//! Scheduler with the AWS SDK), so that the dev build compiles no SDK and the Lambda artifact
//! links no sandbox; `testing` gives [`testing::TestApp`]. A program other than the app that
//! publishes into a deployed stage asks for `aws` itself; one that publishes into a local
//! sandbox (`EVENTFN_SANDBOX`) needs no feature.
//!
//! # 1. Handlers
//!
//! A handler is an `async fn` with one of the attributes [`event`], [`schedule`] or [`queue`]:
//!
//! ```no_run,standalone_crate
//! use eventfn::{Context, event, queue, schedule};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Signup { user_id: String, email: String }
//!
//! // Every subscriber of an event receives each publish.
//! #[event("account-signup")]
//! async fn send_welcome(signup: Signup, ctx: Context) -> eventfn::Result<()> {
//!     ctx.publish("account-check-email", &signup).await?;
//!     Ok(())
//! }
//!
//! // A second subscriber, with its own timeout and retries.
//! #[event("account-signup", timeout = "10s", retries = 3)]
//! async fn audit(signup: Signup) -> eventfn::Result<()> {
//!     if signup.email.is_empty() {
//!         return Err("signup without an email".into());
//!     }
//!     Ok(())
//! }
//!
//! // EventBridge rate and cron expressions, checked at compile time.
//! #[schedule("rate(1 day)")]
//! async fn daily_cleanup(ctx: Context) -> eventfn::Result<()> { Ok(()) }
//!
//! #[schedule("cron(0 12 * * ? *)")]
//! async fn noon_report() -> eventfn::Result<()> { Ok(()) }
//!
//! #[derive(Deserialize)]
//! struct Job { key: String }
//!
//! // Queues deliver in batches of up to `batch_size` messages.
//! #[queue("thumbnails", batch_size = 10)]
//! async fn thumbnail(job: Job) -> eventfn::Result<()> { Ok(()) }
//!
//! // The app's `main` hands control to eventfn: on Lambda it serves the function's handler,
//! // elsewhere the local sandbox.
//! #[tokio::main]
//! async fn main() -> eventfn::Result<()> {
//!     eventfn::run().await
//! }
//! ```
//!
//! The shapes are `async fn(T)`, `async fn(T, Context)`, `async fn(Context)` and `async fn()`,
//! where `T: serde::de::DeserializeOwned` is the payload (schedules take none), returning
//! `eventfn::Result<()>` or any `Result<(), E>` with `E: Display`. The function stays callable as
//! written. The return type is checked as written: a path ending in `Result` (`eventfn::Result<()>`,
//! `anyhow::Result<()>`, `std::io::Result<()>`), so an alias must be named `...::Result` too.
//!
//! [`Context`] tells a handler about the delivery: its [`id`](Context::id), [`name`](Context::name),
//! [`time`](Context::time) (when it was published), [`delay`](Context::delay), which
//! [`attempt`](Context::attempt) this is, and the [`deadline`](Context::deadline) of this attempt.
//!
//! Names start with a letter and hold letters, digits, `-`, `.` and `_`, at most 240 characters
//! (Architect's rule); like Architect, eventfn also refuses a trailing `.`, `..`, and names starting
//! with `aws` or `amazon`. The options:
//!
//! | option        | kinds | values | default |
//! |---------------|-------|--------|---------|
//! | `timeout`     | all   | `"1s"` to `"15m"`, like `"10s"`, `"1m30s"` | `"5s"`, or `timeout` of `[package.metadata.eventfn]` |
//! | `retries`     | all   | 0 to 999 | 2 |
//! | `memory`      | all   | 128 to 10240 (MB) | 1024, or `memory` of `[package.metadata.eventfn]` |
//! | `concurrency` | all   | 1 to 1000 reserved executions | unreserved |
//! | `batch_size`  | queue | 1 to 10000; 1 to 10 with `fifo` | 10 |
//! | `fifo`        | queue | `true`, `false` | `false` |
//! | `name`        | schedule, rule | a name | the function's name |
//! | `filter`      | event | an Amazon SNS filter policy on the payload, as a JSON string | every payload |
//! | `bus`         | rule (required) | `default`, a partner bus `aws.partner/...`, an event bus ARN, or a name for a bus of the app | |
//! | `pattern`     | rule (required) | an EventBridge event pattern, as a JSON string | |
//!
//! Every invalid name, expression, option or signature is a compile error on the offending token:
//!
//! ```compile_fail
//! #[eventfn::schedule("rate(1 days)")]
//! async fn nightly() -> eventfn::Result<()> { Ok(()) }
//! # fn main() {}
//! ```
//!
//! ```text
//! error: invalid schedule: `rate(1 days)` must be written `rate(1 day)`: the unit is singular when the value is 1 and plural otherwise
//! ```
//!
//! ```compile_fail
//! #[eventfn::event("account-signup", timeout = "20m")]
//! async fn slow(email: String) -> eventfn::Result<()> { Ok(()) }
//! # fn main() {}
//! ```
//!
//! Handlers may live in a library crate of the app (which is how its tests reach them, see
//! [Testing](#10-testing)); the binary then links them with `use the_library as _;`, and
//! `cargo eventfn build` fails, naming the crate, when the linker left a library's handlers out.
//!
//! # 2. Publishing
//!
//! [`publish`] sends an event to every subscriber; [`enqueue`] sends a job to a queue's one
//! handler; [`publish_many`] and [`enqueue_many`] send several payloads in as few requests as the
//! bus allows. [`Context::publish`] is [`publish`] from within a handler. Each returns a
//! [`Publish`], which sends when awaited:
//!
//! ```standalone_crate
//! # use eventfn::{event, queue};
//! # use serde::{Deserialize, Serialize};
//! #[derive(Serialize, Deserialize)]
//! struct Order { id: u64, total: f64 }
//!
//! #[event("order.placed")]
//! async fn placed(order: Order) -> eventfn::Result<()> {
//!     // One thumbnail job per line, one invoice event.
//!     let jobs = [format!("{}/1", order.id), format!("{}/2", order.id)];
//!     eventfn::enqueue_many("thumbnails", &jobs).await?;
//!     eventfn::publish("order.invoiced", &order).await
//! }
//! # #[queue("thumbnails")] async fn thumbnails(key: String) -> eventfn::Result<()> { Ok(()) }
//! # #[event("order.invoiced")] async fn invoiced(order: Order) -> eventfn::Result<()> { Ok(()) }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! let app = eventfn::testing::TestApp::new()?;
//! app.publish("order.placed", &Order { id: 7, total: 12.5 }).await?;
//! let sent: Vec<_> = app.published().into_iter().map(|s| s.name).collect();
//! assert_eq!(sent, ["thumbnails", "thumbnails", "order.invoiced"]);
//! # Ok(()) }
//! ```
//!
//! Every message is checked before anything is sent: the name must be a valid name, the payload
//! must serialize to JSON, and the JSON must fit a message ([`MAX_PAYLOAD_BYTES`]; SNS and SQS take
//! 256 KB, attributes included). A refused message is an error that says why, and nothing of a
//! `publish_many` is sent when one of its payloads is refused:
//!
//! ```standalone_crate
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let refused = eventfn::publish("account signup", &1).await.unwrap_err();
//! assert!(refused.to_string().starts_with("cannot send to event `account signup`: invalid event name"));
//!
//! let big = "x".repeat(300 * 1024);
//! let refused = eventfn::enqueue("uploads", &big).await.unwrap_err();
//! assert!(refused.to_string().contains("Store large data elsewhere (S3, a database) and send its key"));
//! # }
//! ```
//!
//! Where a publish goes depends on where the process runs. On Lambda, an event is published to
//! its SNS topic and a job sent to its SQS queue, which the template creates (see
//! [`aws`] for how they are found). In the sandbox it goes to the sandbox's store; another local
//! process (a web server, a script) reaches the sandbox when `EVENTFN_SANDBOX` holds the address
//! `cargo eventfn dev` prints. Under a [`testing::TestApp`] it is recorded. Any other process
//! publishes to AWS when it can find the topics and queues (`EVENTFN_TOPICS` / `EVENTFN_QUEUES`,
//! or `EVENTFN_STACK` and the stack's SSM parameters; see [`aws`]) and has eventfn's `aws`
//! feature; with none of these, a publish is an error that says how to run the sandbox.
//!
//! # 3. Delays
//!
//! [`Publish::after`] delivers no sooner than asked, in Ampt's forms: milliseconds (`300_000`), a
//! Unix timestamp in milliseconds, an RFC 3339 UTC time (`"2026-12-24T18:00:00Z"`), a count and a
//! unit (`"5 minutes"`, `"1 day"`), a [`Duration`](std::time::Duration) or a
//! [`SystemTime`](std::time::SystemTime). It must be in the future and at most a year ahead; a
//! delay of zero, in the past, too far or unreadable is an error when awaited, before anything is
//! sent.
//!
//! A delivery may come later than asked (how much later depends on load), never sooner, and may
//! come twice: [`Context::time`] is when it was published, [`Context::delay`] the delay asked for,
//! so a handler can tell how late it is and drop what is no longer worth doing (Ampt's
//! "discarding events"):
//!
//! ```standalone_crate
//! use eventfn::{Context, event};
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//!
//! #[event("user.joined")]
//! async fn user_joined(email: String) -> eventfn::Result<()> {
//!     eventfn::publish("user.welcome-due", &email).after("5 minutes").await
//! }
//!
//! #[event("user.welcome-due", retries = 2)]
//! async fn send_welcome_mail(email: String, ctx: Context) -> eventfn::Result<()> {
//!     let age = now_ms() - ctx.time();
//!     if age > 5 * 3600 * 1000 {
//!         return Ok(()); // over five hours late: dropped, not sent
//!     }
//!     // ... send the mail ...
//!     Ok(())
//! }
//! # fn now_ms() -> u64 { SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! use eventfn::testing::{Outcome, TestApp};
//! let app = TestApp::new()?;
//! app.publish("user.joined", "ada@example.com").await?;
//! assert_eq!(app.published()[0].delay, 5 * 60 * 1000);
//!
//! // The same mail, published six hours ago: dropped, and done.
//! let six_hours_ago = now_ms() - 6 * 3600 * 1000;
//! let late = eventfn::Delivery { id: "m1".into(), time: six_hours_ago, delay: 300_000, attempt: 1, deadline: None };
//! assert_eq!(app.deliver("send_welcome_mail", "ada@example.com", late).await?, Outcome::Done);
//! # Ok(()) }
//! ```
//!
//! The sandbox holds a delayed message in its store, across restarts. On AWS it waits where AWS
//! can hold it ([`eventfn_core::delay`] decides which): up to 15 minutes in SQS (`DelaySeconds`, on
//! the queue itself for a standard queue's job, in the stack's delay queue for an event or a FIFO
//! job), and beyond that in an EventBridge Scheduler one-time schedule, which fires within the
//! minute of its time and sends the message to the delay queue to wait out the rest. The app's
//! own binary reads the delay queue and sends each message on when it is due. Delays on AWS have a
//! granularity of one second.
//!
//! # 4. Retries, timeouts and dead letters
//!
//! An attempt fails when the handler returns an error, panics, runs past its `timeout` or gets a
//! payload it cannot read (a [`PayloadError`], naming the field). With `retries = N` a delivery
//! gets `N + 1` attempts, each subscriber's delivery on its own, so a failing subscriber is
//! retried without running its siblings again. [`Context::attempt`] counts from 1, so a handler
//! can do something else on its last attempt:
//!
//! ```standalone_crate
//! use eventfn::{Context, event};
//!
//! #[event("invoice.due", retries = 2)]
//! async fn charge(invoice: String, ctx: Context) -> eventfn::Result<()> {
//!     if ctx.attempt() == 3 {
//!         // The last of three attempts: hand it to a person instead of failing again.
//!         return eventfn::enqueue("manual-review", &invoice).await;
//!     }
//!     Err(format!("the card of {invoice} was declined").into())
//! }
//! # #[eventfn::queue("manual-review")] async fn review(invoice: String) -> eventfn::Result<()> { Ok(()) }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! use eventfn::testing::{Outcome, TestApp};
//! let app = TestApp::new()?;
//! // "event `invoice.due`, handler `app::charge` (message ..., attempt 1) failed: the card ..."
//! let Outcome::Failed(why) = app.call("charge", "inv-1", 1).await? else { panic!() };
//! assert!(why.ends_with("attempt 1) failed: the card of inv-1 was declined"), "{why}");
//! assert_eq!(app.call("charge", "inv-1", 3).await?, Outcome::Done);
//! assert_eq!(app.published()[0].name, "manual-review");
//! # Ok(()) }
//! ```
//!
//! Some failures no later attempt can mend. A payload that cannot be read as the handler's type
//! fails every attempt the same way, so it is not retried: the delivery is a dead letter after
//! its first attempt, saying why. A handler says the same of its own error with
//! [`permanent`]: `Err(eventfn::permanent("order 7 does not exist"))`, or
//! `.map_err(eventfn::permanent)?`.
//!
//! When the attempts are spent, the delivery becomes a **dead letter**, kept with the error of its
//! last attempt, to be listed and replayed:
//!
//! | | sandbox (`cargo eventfn dev`) | AWS (the template) |
//! |---|---|---|
//! | attempts | `N + 1`, counted in the store | the handler's own SQS queue redrives after `maxReceiveCount = N + 1` receives |
//! | spacing | 1 s, 2 s, 4 s, ... at most 5 minutes | the queue's visibility timeout, 6 × `timeout` |
//! | timeout | enforced by the sandbox | the function's timeout |
//! | dead letters | in the store; `cargo eventfn events --dead`, `replay ID` | the handler's dead-letter queue, 14 days; `cargo eventfn events --stage S --dead`, `replay --stage S ID`, `purge --stage S --dead --yes` |
//!
//! On AWS the function sends a message that failed its last attempt to its dead-letter queue
//! itself, with the error, the attempts and the handler as message attributes; a function that
//! Lambda stopped (at its timeout, or a crash) leaves it to the queue's redrive, without the
//! error. A replay goes to the handler's own queue, so the subscribers that succeeded do not run
//! again. `cargo eventfn build` refuses a policy whose attempts would outlast SQS's 14-day
//! retention, `(N + 1) × 6 × timeout`, naming the handler.
//!
//! # 5. Queues
//!
//! A queue has one handler, which SQS invokes with batches of up to `batch_size` jobs. Each job
//! succeeds or fails on its own: only the failed ones are delivered again (Lambda's partial batch
//! responses). With `fifo = true` the queue keeps the order of what was sent: a failure stops the
//! batch, and that job and everything after it come again, in order.
//!
//! ```standalone_crate
//! use eventfn::queue;
//!
//! #[queue("resize", batch_size = 10)]
//! async fn resize(width: u32) -> eventfn::Result<()> {
//!     if width == 0 { return Err("a width of 0".into()); }
//!     Ok(())
//! }
//!
//! #[queue("ledger", fifo = true, batch_size = 10)]
//! async fn ledger(entry: i64) -> eventfn::Result<()> {
//!     if entry == 0 { return Err("an empty entry".into()); }
//!     Ok(())
//! }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! use eventfn::testing::{Batch, TestApp};
//! let app = TestApp::new()?;
//! assert_eq!(app.batch("resize", &[640, 0, 1280]).await?, Batch { failed: vec![1] });
//! assert_eq!(app.batch("ledger", &[5, 0, 7]).await?, Batch { failed: vec![1, 2] });
//! # Ok(()) }
//! ```
//!
//! # 6. Schedules
//!
//! A schedule runs its handler on an EventBridge `rate(N unit)` (a singular unit when N is 1:
//! `rate(1 hour)`, `rate(5 minutes)`), a six-field `cron(minutes hours day-of-month month
//! day-of-week year)` with `?` in exactly one day field, or once, at `at(2026-12-31T23:00:00)`.
//! `cron` and `at` are read in the schedule's `timezone`, an IANA name (`Europe/Amsterdam`), else
//! the app's (`timezone` in `[package.metadata.eventfn]`), else UTC: 09:00 stays 09:00 on the
//! wall clock across daylight-saving changes. A time the clocks skip in spring does not fire that
//! day, and one they repeat in autumn fires once, as EventBridge Scheduler does. With
//! `flexible_window = "15 minutes"` (1 minute to 24 hours) the schedule may fire that much later,
//! for jobs that need not run on the minute. All of it is checked as the handler compiles (a
//! misspelt zone is told the closest name); an `at` time that has passed is refused by `cargo
//! eventfn build`.
//!
//! Its name, which `cargo eventfn trigger` uses, is the function's unless `name` says otherwise.
//! A schedule takes no payload, and [`Context::time`] is the time it was due. On AWS it is an
//! EventBridge Scheduler schedule in the stack's schedule group that sends to the handler's
//! queue, so it is retried like any other delivery. [`testing::TestApp::trigger_at`] fires one as
//! due at a given time.
//!
//! ```standalone_crate
//! use eventfn::schedule;
//!
//! #[schedule(
//!     "cron(0 3 * * ? *)",
//!     name = "nightly-cleanup",
//!     timezone = "Europe/Amsterdam",
//!     flexible_window = "30 minutes",
//!     retries = 1
//! )]
//! async fn nightly() -> eventfn::Result<()> {
//!     for table in ["sessions", "carts"] {
//!         eventfn::enqueue("cleanup", table).await?;
//!     }
//!     Ok(())
//! }
//! # #[eventfn::queue("cleanup")] async fn cleanup(table: String) -> eventfn::Result<()> { Ok(()) }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! let app = eventfn::testing::TestApp::new()?;
//! app.trigger("nightly-cleanup").await?;
//! assert_eq!(app.published().len(), 2);
//! # Ok(()) }
//! ```
//!
//! # 7. Filters
//!
//! An event handler with a `filter` receives only the payloads that match it, an
//! [Amazon SNS filter policy](https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html)
//! on the payload: exact values, `prefix`, `suffix`, `equals-ignore-case`, `anything-but`,
//! `numeric`, `exists`, `cidr`, nested keys and `$or`. The policy is checked as the handler
//! compiles, against SNS's grammar and limits (see [`eventfn_core::filter`]). On AWS it is the
//! `FilterPolicy` of the handler's SNS subscription, on the message body; in the sandbox and under
//! [`testing::TestApp`] the same matcher decides.
//!
//! ```standalone_crate
//! use eventfn::event;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Budget { department: String, amount: u64 }
//!
//! #[event("budget.submitted", timeout = "15m", memory = 2048,
//!         filter = r#"{"amount": [{"numeric": [">=", 10000]}], "department": [{"anything-but": ["test"]}]}"#)]
//! async fn analyse(budget: Budget) -> eventfn::Result<()> { Ok(()) }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! use eventfn::testing::{Outcome, TestApp};
//! let app = TestApp::new()?;
//! let big = app.publish("budget.submitted", &Budget { department: "sales".into(), amount: 25_000 }).await?;
//! assert_eq!(big[0].outcome, Outcome::Done);
//! let small = app.publish("budget.submitted", &Budget { department: "sales".into(), amount: 500 }).await?;
//! assert_eq!(small[0].outcome, Outcome::Filtered);
//! # Ok(()) }
//! ```
//!
//! A filter that SNS would refuse does not compile:
//!
//! ```compile_fail
//! #[eventfn::event("budget.submitted", filter = r#"{"amount": [{"numeric": [">>", 1]}]}"#)]
//! async fn analyse(budget: String) -> eventfn::Result<()> { Ok(()) }
//! # fn main() {}
//! ```
//!
//! ## Rules: events of an EventBridge bus
//!
//! A `#[rule]` handler receives the events of an EventBridge bus that match its pattern
//! ([`eventfn_core::pattern`]: EventBridge's grammar and limits, checked as it compiles, with the
//! same engine as filters): the account's `default` bus (AWS services' events), a partner bus,
//! a bus's ARN, or a bus of the app's own, which the template creates. Its payload is the
//! event's `detail`; its [`Context`] has the envelope. [`put_event`] puts events on a bus of the
//! app; the sandbox and [`testing::TestApp::put_event`] deliver them as AWS would.
//!
//! ```standalone_crate
//! use eventfn::{Context, event, rule};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Budget { department: String, amount: u64 }
//!
//! #[event("budget.submitted")]
//! async fn submit(budget: Budget) -> eventfn::Result<()> {
//!     eventfn::put_event("budgets", "BUDGET_ANALYSIS", &budget).source("intake").await
//! }
//!
//! #[rule(bus = "budgets", timeout = "15m",
//!        pattern = r#"{"detail-type": ["BUDGET_ANALYSIS"], "detail": {"amount": [{"numeric": [">=", 10000]}]}}"#)]
//! async fn analyse(budget: Budget, ctx: Context) -> eventfn::Result<()> {
//!     assert_eq!((ctx.source(), ctx.detail_type()), ("intake", "BUDGET_ANALYSIS"));
//!     Ok(())
//! }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! use eventfn::testing::{Outcome, TestApp};
//! let app = TestApp::new()?;
//! app.publish("budget.submitted", &Budget { department: "sales".into(), amount: 25_000 }).await?;
//! assert_eq!(app.published()[0].payload["detail-type"], "BUDGET_ANALYSIS");
//! let big = Budget { department: "sales".into(), amount: 25_000 };
//! let runs = app.put_event("budgets", "intake", "BUDGET_ANALYSIS", &big).await?;
//! assert_eq!(runs[0].outcome, Outcome::Done);
//! let small = Budget { department: "sales".into(), amount: 500 };
//! let runs = app.put_event("budgets", "intake", "BUDGET_ANALYSIS", &small).await?;
//! assert_eq!(runs[0].outcome, Outcome::Filtered);
//! # Ok(()) }
//! ```
//!
//! # 8. The sandbox: `cargo eventfn dev`
//!
//! `cargo eventfn dev [-p APP]` builds the app for this machine and runs it against a local event
//! bus, offline, with the semantics it has on AWS: every subscriber gets its own delivery, retries
//! and timeouts as above, dead letters, delays, filters, queues in batches, schedules on their
//! `rate` or `cron`. Every publish is stored (SQLite, under `target/eventfn/<app>/sandbox/`) before
//! it is acknowledged, so what is pending or delayed survives a restart; the store keeps earlier
//! runs too, with every attempt, until `cargo eventfn dev --reset`. The live log has a line per
//! attempt, with the handler's `tracing` events beneath it:
//!
//! ```text
//! 08:16:22.993 event account-signup → welcome::send_welcome (event 9, delivery 13, attempt 1) 389µs ok
//! 08:16:22.993 event account-check-email → welcome::check_email (event 10, delivery 15, attempt 1) 41µs failed, retry in 1s
//! ```
//!
//! An **event** is one publish, by the id `cargo eventfn publish` prints; a **delivery** is its
//! delivery to one handler, with its own attempts, by the id `events` lists and `events ID` and
//! `replay ID` take. A failure in the sandbox names both, `(event 10, delivery 15, attempt 1)`,
//! where on Lambda it names the SQS message.
//!
//! Its API listens on 127.0.0.1 (port 4747, or `--port`), and these commands talk to it:
//!
//! ```sh
//! cargo eventfn publish account-signup '{"user_id": "u1", "email": "ada@example.com"}'
//! cargo eventfn publish user.welcome-due '"ada@example.com"' --after "5 minutes"
//! cargo eventfn publish thumbnails '{"key": "a.png"}' --queue
//! cargo eventfn trigger nightly-cleanup
//! cargo eventfn events            # every delivery: when, pending, done, dead or filtered
//! cargo eventfn events --dead
//! cargo eventfn events 15         # delivery 15: payload, attempts, what its handler published
//! cargo eventfn replay --all      # dead letters, delivered again
//! ```
//!
//! The API is for the processes of this machine, not for the web pages its user visits: it
//! answers only requests addressed to its own loopback address and port, refuses requests from
//! another `Origin`, and takes writes only as `application/json`, so no page can publish into it
//! or read its deliveries. A handler that takes the whole process down (an abort, a stack
//! overflow, the OOM killer) has each attempt counted before it ran, so after a restart it gets
//! only the attempts left, and ends a dead letter as on AWS.
//!
//! See [`sandbox`] for the settings it reads and its HTTP API.
//!
//! # 9. Building and deploying
//!
//! `cargo eventfn build [-p APP] [--release] [--arm64]` compiles the app for Lambda (through zig
//! when the host cannot: a Mac, another architecture, a glibc newer than Lambda's) and writes
//! `target/eventfn/<app>/`: the manifest `eventfn.json` (every handler with its options, defaults
//! filled in, and how the bootstrap was built), `app.arc` (the same app in Architect's format),
//! the `bootstrap` executable, stripped, with its `bootstrap.zip` and the unstripped
//! `bootstrap.debug`, and `template.json`, a CloudFormation template with everything the app
//! needs:
//!
//! | the app has | the template creates |
//! |---|---|
//! | a handler | a Lambda function (`provided.al2023`) with its memory, timeout, reserved concurrency and a role that may do what this app needs and nothing more; a log group; an SQS queue of its own with a dead-letter queue, read by an event source mapping with partial batch responses |
//! | an event | an SNS topic, with a subscription (raw delivery, its `filter` if any) for each subscriber's queue |
//! | a queue | the handler's queue is the queue (FIFO when `fifo = true`) |
//! | a schedule | an EventBridge rule sending to the handler's queue |
//! | an event or a queue | for [delays](#3-delays): a delay queue with its dead letters and the function that reads it, an EventBridge Scheduler group and role |
//!
//! `cargo eventfn deploy [-p APP] [--stage NAME] [--debug]` builds (release unless `--debug`),
//! uploads the artifact to the account's deployment bucket and creates or updates the stage's
//! stack (`<App><Stage>`, like Architect's), showing its events as they come; `--dry-run` shows
//! the changes (through a change set, deleted afterwards) without executing them.
//! `cargo eventfn destroy --stage NAME --yes` deletes it. The region comes from `--region`, else
//! `region` of `[package.metadata.eventfn]`, else the AWS configuration.
//!
//! On Lambda, [`run`] serves the handler named by the function's `EVENTFN_HANDLER`: SNS, SQS and
//! EventBridge records are recognised and dispatched (see [`lambda`]).
//!
//! # 10. Testing
//!
//! With the `testing` feature, [`testing::TestApp`] runs the handlers linked into a test binary
//! in-process, with no sandbox, AWS or network; every example above uses it. Publish an event and
//! get each subscriber's [`testing::Outcome`], call a handler as any attempt, fire a schedule, feed
//! a queue a batch and read which jobs failed, and see what the handlers published, with what
//! delay, or make their publishes fail. A handler that leaves out `timeout` gets the app's, from
//! `[package.metadata.eventfn]`. A publish to an event no handler of the app subscribes to, or an
//! enqueue to a queue it lacks, fails as it does in the sandbox and on AWS, unless the test says
//! that another app takes it. Each `TestApp` records only what its own calls sent, so tests run
//! in parallel:
//!
//! ```standalone_crate
//! use eventfn::event;
//! use eventfn::testing::{Outcome, TestApp};
//!
//! #[event("account-signup")]
//! async fn welcome(email: String) -> eventfn::Result<()> {
//!     eventfn::publish("account-check-email", &email).await
//! }
//!
//! # #[tokio::main] async fn main() -> eventfn::Result<()> {
//! // In a #[tokio::test]:
//! let app = TestApp::new()?;
//! // The check is another app's event.
//! app.external_event("account-check-email");
//! app.fail_publishes("SNS is down");
//! let runs = app.publish("account-signup", "ada@example.com").await?;
//! assert!(matches!(&runs[0].outcome, Outcome::Failed(why) if why.contains("SNS is down")));
//! # Ok(()) }
//! ```
//!
//! An integration test (`tests/*.rs`) links the app's library, so an app keeps its handlers in
//! `src/lib.rs` and its `main.rs` links them with `use the_app as _;`. The sandbox is the other
//! half of testing: the repository's examples are each tested both ways.
//!
//! # 11. Limits, and how they map to AWS
//!
//! | limit | eventfn | AWS behind it |
//! |---|---|---|
//! | name | 1 to 240 characters, Architect's rule | CloudFormation names the topics and queues; `deploy` checks that a function's name (the stack's and the handler's, at most 64 characters) and a FIFO queue's (at most 80) fit |
//! | payload | [`MAX_PAYLOAD_BYTES`] as JSON (256 KB less 1 KB for attributes) | SNS and SQS messages: 256 KB with attributes |
//! | `timeout` | 1 s to 15 min | Lambda's maximum, 900 s |
//! | `memory` | 128 to 10240 MB | Lambda's range |
//! | `retries` | 0 to 999; `(retries + 1) × 6 × timeout` at most 14 days | SQS `maxReceiveCount` 1 to 1000; retention at most 14 days |
//! | `batch_size` | 1 to 10000; 1 to 10 with `fifo` | Lambda's SQS event source |
//! | `concurrency` | 1 to 1000 | reserved concurrency, within the account's limit (1000 by default) |
//! | delay | more than 0 ms, at most a year; on AWS rounded up to whole seconds | SQS `DelaySeconds` up to 15 minutes; EventBridge Scheduler beyond |
//! | schedule | `rate` of at least 1 minute; 6-field `cron`; `at` ahead, to the second; IANA `timezone`; `flexible_window` 1 minute to 24 hours | EventBridge Scheduler |
//! | filter | 5 keys, 150 combinations, numbers within ±10⁹ and 5 decimals, 256 KB | SNS filter policies |
//! | dead letters | kept 14 days | SQS retention |
//!
//! The macros check the options, names, schedules and filters as the app compiles, and every
//! publish checks its payload and delay, in the sandbox and under [`testing::TestApp`] as on AWS.
//! Two limits are checked outside the sandbox only: the retry window, by `cargo eventfn build`
//! (and so by `deploy`), and the lengths of the names AWS gives functions and FIFO queues, which
//! depend on the stage, by `deploy`.

pub mod aws;
#[cfg(feature = "aws-base")]
mod aws_sdk;
mod bus_event;
mod context;
mod dispatch;
mod error;
mod incoming;
pub mod lambda;
mod log_filter;
mod publish;
mod registry;
mod run;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod sandbox_bus;
#[cfg(feature = "aws-base")]
mod ssm;
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use context::Context;
pub use error::{Error, PayloadError, Permanent, Result, permanent};
pub use eventfn_core::{Kind, Registration};
/// Options: `timeout`, `retries`, `memory`, `concurrency` and `filter` (see the
/// [options table](crate#1-handlers) and [Filters](crate#7-filters)). Every subscriber of an
/// event gets each publish as a delivery of its own, retried on its own.
///
/// ```standalone_crate
/// #[eventfn::event("account-signup", timeout = "10s", retries = 3)]
/// async fn audit(email: String, ctx: eventfn::Context) -> eventfn::Result<()> {
///     tracing::info!(attempt = ctx.attempt(), "auditing {email}");
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub use eventfn_macros::event;
/// Options: `batch_size`, `fifo`, `timeout`, `retries`, `memory` and `concurrency` (see the
/// [options table](crate#1-handlers) and [Queues](crate#5-queues)). A queue has exactly one
/// handler; each job of a batch succeeds or fails on its own.
///
/// ```standalone_crate
/// #[eventfn::queue("thumbnails", batch_size = 10, timeout = "1m")]
/// async fn thumbnail(key: String) -> eventfn::Result<()> { Ok(()) }
/// # fn main() {}
/// ```
pub use eventfn_macros::queue;
/// Options: `bus` and `pattern` (both required), `name` (the function's name by default),
/// `timeout`, `retries`, `memory` and `concurrency`. The handler's payload is the event's
/// `detail` (or the whole event, for a payload type named `EventBridgeEvent`); its `Context`
/// has the envelope: [`Context::source`], [`Context::detail_type`], [`Context::account`],
/// [`Context::region`], [`Context::resources`]. On AWS the rule sends to the handler's own SQS
/// queue, so `retries`, timeouts and dead letters work as for events.
///
/// ```standalone_crate
/// #[derive(serde::Deserialize)]
/// struct Upload { bucket: Bucket }
/// #[derive(serde::Deserialize)]
/// struct Bucket { name: String }
///
/// #[eventfn::rule(bus = "default", pattern = r#"{"source": ["aws.s3"], "detail-type": ["Object Created"]}"#)]
/// async fn on_upload(upload: Upload, ctx: eventfn::Context) -> eventfn::Result<()> {
///     println!("{} in {} from {}", ctx.detail_type(), upload.bucket.name, ctx.source());
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub use eventfn_macros::rule;
/// Options: `name` (what `cargo eventfn trigger` and the tests call it; the function's name by
/// default), `timeout`, `retries`, `memory` and `concurrency` (see the
/// [options table](crate#1-handlers) and [Schedules](crate#6-schedules)). The handler takes no
/// payload: `async fn()` or `async fn(Context)`.
///
/// ```standalone_crate
/// #[eventfn::schedule("cron(0 12 ? * MON-FRI *)", name = "noon-report")]
/// async fn noon_report() -> eventfn::Result<()> { Ok(()) }
/// # fn main() {}
/// ```
pub use eventfn_macros::schedule;
pub use publish::{
    After, Bus, BusEntry, MAX_PAYLOAD_BYTES, Message, Publish, PutEvents, enqueue, enqueue_many,
    publish, publish_many, put_event, put_events,
};

pub use registry::{Entry, handlers};
pub use run::{DESCRIBE_ENV, Delivery, run};
