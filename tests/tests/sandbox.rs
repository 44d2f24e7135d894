//! End to end in the local sandbox: `cargo eventfn dev` runs `examples/welcome` and
//! `fixture-sandbox-app` (each test with a store of its own, on a free port), and the tests drive
//! it with `cargo eventfn publish`, `trigger`, `events` and `replay`, the HTTP API, and another
//! process publishing through `eventfn::publish`. Handlers of the fixture write a line per
//! delivery into the test's directory, which is what the tests count.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

/// A running sandbox: `cargo eventfn dev`, which became the app, killed when dropped.
struct Sandbox {
    url: String,
    child: Child,
    /// Everything it printed on stdout so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    /// Starts `cargo eventfn dev -p <package>` on a free port with its store in `dir`.
    fn start(package: &str, dir: &Path) -> Sandbox {
        let store = dir.join("store");
        let mut child = Command::new(cargo_eventfn())
            .args([
                "eventfn",
                "dev",
                "-p",
                package,
                "--port",
                "0",
                "--retry-delay",
                "100",
            ])
            .arg("--store")
            .arg(&store)
            .env("CARGO", env!("CARGO"))
            .env("SANDBOX_TEST_DIR", dir)
            .env("TASKS_DIR", dir.join("tasks"))
            .env("NO_COLOR", "1")
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run cargo eventfn dev");
        let stdout = child.stdout.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("sandbox: {line}");
                if let Some(rest) = line.trim_start().strip_prefix("Listening on ") {
                    let url = rest.split(';').next().unwrap().to_owned();
                    let _ = found.send(url);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let mut sandbox = Sandbox {
            url: String::new(),
            child,
            log,
        };
        // The first build of the app may take a while on a fresh machine.
        sandbox.url = address
            .recv_timeout(Duration::from_secs(600))
            .expect("the sandbox printed where it listens");
        assert!(
            sandbox.url.starts_with("http://127.0.0.1:"),
            "listens on loopback only: {}",
            sandbox.url
        );
        sandbox
    }

    /// The live log so far, once `ready` holds for it (within ten seconds: it is read from a
    /// pipe, a little behind the store).
    fn log_until(&self, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
        let started = Instant::now();
        loop {
            let log = self.log.lock().unwrap().clone();
            if ready(&log) || started.elapsed() > Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `cargo eventfn <args>` pointed at this sandbox.
    fn eventfn(&self, args: &[&str]) -> Output {
        eventfn(args, &[("EVENTFN_SANDBOX", &self.url)])
    }

    /// `cargo eventfn events <args>`, as JSON.
    fn deliveries(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["events", "--message-format", "json"];
        all.extend_from_slice(args);
        let output = self.eventfn(&all);
        assert!(output.status.success(), "{}", stderr(&output));
        let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
        listed["deliveries"].as_array().unwrap().clone()
    }

    /// The deliveries to `handler` once `done` holds for them (within a minute).
    fn wait_for(&self, handler: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let found: Vec<Value> = self
                .deliveries(&["--limit", "10000"])
                .into_iter()
                .filter(|d| d["handler"] == handler)
                .collect();
            if done(&found) {
                return found;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "deliveries to {handler} are not as expected: {found:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `cargo eventfn events ID --message-format json`: the delivery in full.
    fn detail(&self, id: &Value) -> Value {
        let output = self.eventfn(&["events", &id.to_string(), "--message-format", "json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn publish_ok(&self, args: &[&str]) -> String {
        let mut all = vec!["publish"];
        all.extend_from_slice(args);
        let output = self.eventfn(&all);
        assert!(output.status.success(), "{}", stderr(&output));
        stderr(&output)
    }
}

fn lines(dir: &Path, file: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn test_dir(name: &str) -> PathBuf {
    let dir = root().join("target/tmp/sandbox").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn all_done(count: usize) -> impl Fn(&[Value]) -> bool {
    move |found| found.len() == count && found.iter().all(|d| d["state"] == "done")
}

#[test]
fn welcome_fans_out_and_its_handlers_publish_onwards() {
    let dir = test_dir("welcome");
    let sandbox = Sandbox::start("welcome", &dir);
    let said = sandbox.publish_ok(&[
        "account-signup",
        r#"{"user_id": "u1", "email": "ada@example.com"}"#,
    ]);
    assert!(
        said.contains("Published event `account-signup` (event 1)"),
        "{said}"
    );
    // Both subscribers ran; send_welcome published account-check-email, which was handled.
    sandbox.wait_for("welcome::send_welcome", all_done(1));
    sandbox.wait_for("welcome::audit", all_done(1));
    let checked = sandbox.wait_for("welcome::check_email", all_done(1));
    assert_eq!(checked[0]["name"], "account-check-email");
    assert_eq!(checked[0]["attempts"], 1);
    let log = sandbox
        .log_until(|log| log.iter().any(|l| l.contains("welcome::check_email")))
        .join("\n");
    let welcomed = sandbox.wait_for("welcome::send_welcome", all_done(1));
    for expected in [
        "event account-signup → welcome::send_welcome".to_owned(),
        "event account-signup → welcome::audit".to_owned(),
        "event account-check-email → welcome::check_email".to_owned(),
        "welcome, ada@example.com".to_owned(),
        // The ids as `publish` and `events` name them.
        format!(
            "→ welcome::send_welcome (event 1, delivery {}, attempt 1) ",
            welcomed[0]["id"]
        ),
    ] {
        assert!(
            log.contains(&expected),
            "the live log shows `{expected}`:\n{log}"
        );
    }

    // What send_welcome published is found from its delivery, and the other way round.
    let detail = sandbox.detail(&welcomed[0]["id"]);
    let published = detail["published"].as_array().unwrap();
    assert_eq!(published.len(), 1, "{detail:#}");
    assert_eq!(published[0]["id"], checked[0]["id"]);
    assert_eq!(published[0]["handler"], "welcome::check_email");
    assert_eq!(checked[0]["published_by"], welcomed[0]["id"]);
    assert_eq!(detail["delivery"]["published_by"], Value::Null);
    // Listed with their payloads, as published: the CLI's as typed, the handler's as serialized.
    assert_eq!(
        welcomed[0]["body"],
        r#"{"user_id": "u1", "email": "ada@example.com"}"#
    );
    assert_eq!(
        checked[0]["body"],
        r#"{"user_id":"u1","email":"ada@example.com"}"#
    );
    let text = String::from_utf8_lossy(&sandbox.eventfn(&["events"]).stdout).into_owned();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("DELIVERY  PUBLISHED             STATE     ATTEMPTS  DURATION  WHAT"),
        "{text}"
    );
    // Each row: when (HH:MM:SS, and an age), and a duration in µs or ms as the live log has it.
    for row in text.lines().skip(1).filter(|l| l.contains(" → ")) {
        let fields: Vec<&str> = row.split_whitespace().collect();
        let time: Vec<&str> = fields[1].split(':').collect();
        assert!(
            time.len() == 3 && time.iter().all(|t| t.len() == 2),
            "{row}"
        );
        assert!(row.contains(" ago ") || row.contains(" now "), "{row}");
        let duration = fields
            .iter()
            .find(|f| f.ends_with("µs") || f.ends_with("ms"));
        assert!(duration.is_some_and(|d| *d != "0ms"), "{row}");
    }
}

#[test]
fn user_joined_asks_for_its_welcome_mail_five_minutes_later() {
    let dir = test_dir("user-joined");
    let sandbox = Sandbox::start("user-joined", &dir);
    sandbox.publish_ok(&["user.joined", r#"{"id": "u1", "email": "ada@example.com"}"#]);
    sandbox.wait_for("user_joined::user_joined", all_done(1));
    let due = sandbox.wait_for("user_joined::send_welcome_mail", |d| d.len() == 1);
    assert_eq!(due[0]["name"], "user.welcome-due");
    assert_eq!(due[0]["state"], "pending", "{due:?}");
    assert_eq!(due[0]["delay"], 300_000);
    assert_eq!(
        due[0]["due"].as_u64().unwrap(),
        due[0]["time"].as_u64().unwrap() + 300_000
    );
}

#[test]
fn nightly_cleanup_fans_the_night_out_to_its_queue() {
    let dir = test_dir("nightly-cleanup");
    let sandbox = Sandbox::start("nightly-cleanup", &dir);
    let fired = sandbox.eventfn(&["trigger", "nightly-cleanup"]);
    assert!(fired.status.success(), "{}", stderr(&fired));
    let night = sandbox.wait_for("nightly_cleanup::nightly", all_done(1));
    // Its firing in full says when it was due on Amsterdam's clock, and in UTC.
    let id = night[0]["id"].to_string();
    let shown = sandbox.eventfn(&["events", &id]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("(Europe/Amsterdam), "), "{shown}");
    assert!(shown.contains(" UTC\n"), "{shown}");
    let purged = sandbox.wait_for("nightly_cleanup::purge", all_done(3));
    assert!(
        purged
            .iter()
            .all(|d| d["name"] == "cleanup" && d["kind"] == "queue")
    );
    let log = sandbox
        .log_until(|log| log.iter().filter(|l| l.contains("purged")).count() == 3)
        .join("\n");
    for table in ["sessions", "uploads", "carts"] {
        assert!(log.contains(&format!("table={table}")), "{table}:\n{log}");
    }
}

/// An AWS service's event on the default bus, stood in for from the command line: the S3
/// upload of an image reaches the rule, which enqueues its thumbnail; a text file does not.
#[test]
fn thumbnails_are_made_of_images_s3_says_were_uploaded() {
    let dir = test_dir("thumbnails");
    let sandbox = Sandbox::start("thumbnails", &dir);
    for key in ["photos/cat.PNG", "notes.txt"] {
        sandbox.publish_ok(&[
            "--bus",
            "default",
            "--source",
            "aws.s3",
            "--detail-type",
            "Object Created",
            &format!(
                r#"{{"bucket": {{"name": "uploads"}}, "object": {{"key": "{key}", "size": 5120}}}}"#
            ),
        ]);
    }
    let uploads = sandbox.wait_for("thumbnails::on_upload", |d| {
        d.len() == 2 && d.iter().all(|d| d["state"] != "pending")
    });
    let mut states: Vec<&str> = uploads
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    states.sort_unstable();
    assert_eq!(states, ["done", "filtered"]);
    let made = sandbox.wait_for("thumbnails::thumbnail", all_done(1));
    assert_eq!(made[0]["name"], "thumbnails");
    let log = sandbox
        .log_until(|log| log.iter().any(|l| l.contains("thumbnail made")))
        .join("\n");
    assert!(
        log.contains("rule on_upload → thumbnails::on_upload"),
        "{log}"
    );
    assert!(log.contains("key=photos/cat.PNG"), "{log}");
}

/// Stacktape's event bus: budgets submitted are put on the app's bus, where the rule's pattern
/// lets through those worth analysing; an event put on the bus from the command line reaches
/// it as well, and the rule's handler sees the envelope EventBridge would write.
#[test]
fn budget_analysis_analyses_only_what_its_rule_lets_through() {
    let dir = test_dir("budget-analysis");
    let sandbox = Sandbox::start("budget-analysis", &dir);
    sandbox.publish_ok(&[
        "budget.submitted",
        r#"{"department": "sales", "amount": 25000, "lines": [{"category": "travel", "amount": 25000}]}"#,
    ]);
    sandbox.publish_ok(&[
        "budget.submitted",
        r#"{"department": "sales", "amount": 500, "lines": [{"category": "travel", "amount": 500}]}"#,
    ]);
    let put = sandbox.publish_ok(&[
        "--bus",
        "budgets",
        "--source",
        "budgets.intake",
        "--detail-type",
        "BUDGET_ANALYSIS",
        r#"{"department": "ops", "amount": 12000, "lines": [{"category": "cloud", "amount": 12000}]}"#,
    ]);
    assert!(
        put.contains("Put event `BUDGET_ANALYSIS` from `budgets.intake` on bus `budgets` (event "),
        "{put}"
    );
    let analysed = sandbox.wait_for("budget_analysis::analyse", |d| {
        d.len() == 3 && d.iter().all(|d| d["state"] != "pending")
    });
    let mut states: Vec<&str> = analysed
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    states.sort_unstable();
    assert_eq!(states, ["done", "done", "filtered"]);
    for delivery in &analysed {
        assert_eq!(delivery["kind"], "rule", "{delivery}");
        assert_eq!(delivery["name"], "budgets", "{delivery}");
    }
    // What the handler received: the whole event, as EventBridge writes it to the rule's queue.
    let done = analysed.iter().find(|d| d["state"] == "done").unwrap();
    let detail = sandbox.detail(&done["id"]);
    let event: Value = serde_json::from_str(detail["delivery"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["source"], "budgets.intake", "{event}");
    assert_eq!(event["detail-type"], "BUDGET_ANALYSIS", "{event}");
    assert_eq!(event["account"], "000000000000", "{event}");
    assert!(
        event["detail"]["amount"].as_u64().unwrap() >= 10000,
        "{event}"
    );
    let reported = sandbox.wait_for("budget_analysis::report", all_done(2));
    assert_eq!(reported[0]["name"], "budget.analysed");

    // A bus the app has no rule on, and an event EventBridge would refuse, store nothing.
    for (args, error) in [
        (
            vec!["--bus", "budget", "--detail-type", "BUDGET_ANALYSIS", "{}"],
            "error: no rule of this app listens on bus `budget` (did you mean `budgets`?): its \
             rules listen on `budgets`",
        ),
        (
            vec![
                "--bus",
                "budgets",
                "--detail-type",
                "BUDGET_ANALYSIS",
                "[1]",
            ],
            "error: cannot put an event on bus `budgets`: its detail is not a JSON object ([1]): \
             EventBridge takes only objects; wrap the value in one, like {\"value\": ...}",
        ),
        (
            vec!["--bus", "budgets", "{}"],
            "error: the following required arguments were not provided:\n  --detail-type <TYPE>",
        ),
    ] {
        let mut all = vec!["publish"];
        all.extend_from_slice(&args);
        let output = sandbox.eventfn(&all);
        assert_eq!(
            output.status.code(),
            Some(if args.len() == 3 { 2 } else { 1 }),
            "{args:?}"
        );
        assert!(
            stderr(&output).contains(error),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(
        sandbox
            .deliveries(&["--limit", "10000"])
            .iter()
            .filter(|d| d["handler"] == "budget_analysis::analyse")
            .count(),
        3
    );
}

/// The background-task example's HTTP front, `examples/front.rs`, publishing into `sandbox`;
/// killed when dropped.
struct Front {
    url: String,
    _process: Process,
}

impl Front {
    fn start(sandbox: &Sandbox, dir: &Path) -> Front {
        let built = cargo()
            .args([
                "build",
                "--quiet",
                "-p",
                "background-task",
                "--example",
                "front",
            ])
            .current_dir(root())
            .status()
            .expect("run cargo build");
        assert!(built.success(), "the front builds");
        let mut child = Command::new(target_dir().join("debug/examples/front"))
            .env("EVENTFN_SANDBOX", &sandbox.url)
            .env("TASKS_DIR", dir.join("tasks"))
            .env("PORT", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the front");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .strip_prefix("Listening on ")
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("the front says where it listens: {first:?}"))
            .to_owned();
        Front {
            url,
            _process: Process(child),
        }
    }

    /// The status and JSON body of a request to the front.
    fn request(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let mut response = match body {
            Some(body) => agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body),
            None => agent.get(&url).call(),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let text = response.body_mut().read_to_string().unwrap();
        (
            response.status().as_u16(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

#[test]
fn background_task_moves_a_posted_task_through_its_statuses() {
    let dir = test_dir("background-task");
    let sandbox = Sandbox::start("background-task", &dir);
    let front = Front::start(&sandbox, &dir);
    let (status, posted) = front.request("POST", "/tasks", Some(r#"{"background": "resize"}"#));
    assert_eq!(status, 202, "{posted}");
    let path = posted["status"].as_str().unwrap().to_owned();
    // Each status is seen on the way: the steps are seconds apart.
    let mut seen: Vec<String> = Vec::new();
    let started = Instant::now();
    while seen.last().map(String::as_str) != Some("complete") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the task completes within a minute; statuses seen: {seen:?}"
        );
        let (status, task) = front.request("GET", &path, None);
        if status == 200 {
            let now = task["status"].as_str().unwrap().to_owned();
            if seen.last() != Some(&now) {
                seen.push(now);
            }
        } else {
            assert_eq!(status, 404, "{task}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(seen, ["received", "processing", "complete"]);
    for handler in [
        "background_task::receive",
        "background_task::process",
        "background_task::complete",
    ] {
        sandbox.wait_for(handler, all_done(1));
    }
    let processing = sandbox.wait_for("background_task::process", all_done(1));
    assert_eq!(processing[0]["delay"], 3000);
}

#[test]
fn each_retry_setting_makes_as_many_attempts_in_the_sandbox_as_on_aws() {
    let summary = build_ok(&["-p", "fixture-retry-table"], &[]);
    let template = flat_template(&summary);
    let manifest: eventfn_core::Manifest =
        serde_json::from_str(&read(summary["files"]["manifest"].as_str().unwrap())).unwrap();
    assert_eq!(manifest.handlers.len(), 5);

    let dir = test_dir("retry-table");
    let sandbox = Sandbox::start("fixture-retry-table", &dir);
    sandbox.publish_ok(&["doomed", "{}"]);
    sandbox.publish_ok(&["--queue", "doomed-jobs", "{}"]);
    for handler in &manifest.handlers {
        let retries = handler.options.retries;
        let dead = sandbox.wait_for(&handler.function, |found| {
            found.len() == 1 && found[0]["state"] == "dead"
        });
        // On AWS the handler's queue redrives to its dead-letter queue after this many receives.
        let queue = match handler.kind {
            eventfn_core::Kind::Queue => {
                eventfn_core::logical::resource_id(handler.kind, &handler.name)
            }
            _ => format!(
                "{}Queue",
                eventfn_core::logical::handler_id(&handler.function)
            ),
        };
        let receives =
            &template["Resources"][&queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"];
        // And its function sends the message to the dead letters itself, with why, on this
        // attempt.
        let function = format!(
            "{}Function",
            eventfn_core::logical::handler_id(&handler.function)
        );
        let last = &template["Resources"][&function]["Properties"]["Environment"]["Variables"]["EVENTFN_ATTEMPTS"];
        let expected = u64::from(retries) + 1;
        assert_eq!(
            (
                dead[0]["attempts"].as_u64(),
                receives.as_u64(),
                last.as_str().and_then(|n| n.parse().ok())
            ),
            (Some(expected), Some(expected), Some(expected)),
            "{} with retries = {retries}",
            handler.function
        );
    }
}

#[test]
fn failures_are_retried_by_the_handlers_policy_and_dead_letters_replayed() {
    let dir = test_dir("retries");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    sandbox.publish_ok(&["flaky", "7"]);
    let flaky = sandbox.wait_for("fixture_sandbox_app::flaky", all_done(1));
    assert_eq!(flaky[0]["attempts"], 3);
    assert_eq!(lines(&dir, "flaky"), ["7 1", "7 2", "7 3"]);
    // The handler's tracing events are in the live log, beneath the line of their attempt.
    let log = sandbox.log_until(|log| {
        log.iter()
            .filter(|l| l.contains("flaky handler ran"))
            .count()
            == 3
    });
    let first = log
        .iter()
        .position(|l| {
            l.contains("event flaky → fixture_sandbox_app::flaky") && l.contains("attempt 1")
        })
        .unwrap_or_else(|| panic!("{log:#?}"));
    assert!(
        log[first].contains("failed, retry in 100ms"),
        "{}",
        log[first]
    );
    assert!(log[first + 1].starts_with("    error: "), "{log:#?}");
    assert!(
        log[first + 2].starts_with("    ") && log[first + 2].contains("flaky handler ran n=7"),
        "{log:#?}"
    );

    // retries = 1: two attempts, then a dead letter; its sibling ran once and is not re-run.
    sandbox.publish_ok(&["broken", "8"]);
    let dead = sandbox.wait_for("fixture_sandbox_app::broken", |found| {
        found.len() == 1 && found[0]["state"] == "dead"
    });
    assert_eq!(dead[0]["attempts"], 2);
    assert!(
        dead[0]["error"].as_str().unwrap().contains("still broken"),
        "{dead:?}"
    );
    let listed = sandbox.deliveries(&["--dead"]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["body"], "8", "a dead letter's payload is listed");
    assert_eq!(listed[0]["size"], 1);
    let id = dead[0]["id"].as_i64().unwrap().to_string();

    // Replaying something not dead is refused.
    let sibling_id = sandbox.wait_for("fixture_sandbox_app::sibling", all_done(1))[0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let refused = sandbox.eventfn(&["replay", &sibling_id]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("is done, not dead"),
        "{}",
        stderr(&refused)
    );

    std::fs::write(dir.join("fixed"), "").unwrap();
    let replayed = sandbox.eventfn(&["replay", &id]);
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    sandbox.wait_for("fixture_sandbox_app::broken", all_done(1));
    assert_eq!(lines(&dir, "broken"), ["8 1", "8 2", "8 1"]);
    assert_eq!(lines(&dir, "sibling"), ["8"], "the sibling never ran again");

    // A timeout is a failure like any other.
    sandbox.publish_ok(&["slow", "null"]);
    let slow = sandbox.wait_for("fixture_sandbox_app::slow", |found| {
        found.len() == 1 && found[0]["state"] == "dead"
    });
    assert!(
        slow[0]["error"].as_str().unwrap().contains("timed out"),
        "{slow:?}"
    );

    // `replay --all` replays every dead letter: the slow one is the only one left.
    let all = sandbox.eventfn(&["replay", "--all"]);
    assert!(all.status.success(), "{}", stderr(&all));
    let said = stderr(&all);
    assert!(
        said.contains(&format!("delivery {} of event `slow`", slow[0]["id"])),
        "{said}"
    );
    assert_eq!(said.matches("Replaying").count(), 1, "{said}");

    // `purge --dead` drops the dead letters, once told --yes.
    sandbox.wait_for("fixture_sandbox_app::slow", |found| {
        found.len() == 1 && found[0]["state"] == "dead"
    });
    let unconfirmed = sandbox.eventfn(&["purge", "--dead"]);
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert!(
        stderr(&unconfirmed).contains("purging deletes the 1 dead letter of the sandbox at"),
        "{}",
        stderr(&unconfirmed)
    );
    assert_eq!(sandbox.deliveries(&["--dead"]).len(), 1);
    let purged = sandbox.eventfn(&["purge", "--dead", "--yes"]);
    assert!(
        stderr(&purged).contains("Purged 1 dead letter of the sandbox"),
        "{}",
        stderr(&purged)
    );
    assert_eq!(sandbox.deliveries(&["--dead"]), Vec::<Value>::new());
    let not_an_id = sandbox.eventfn(&["replay", "m-1"]);
    assert_eq!(not_an_id.status.code(), Some(1));
    assert!(
        stderr(&not_an_id).contains("`m-1` is not a delivery id of the sandbox"),
        "{}",
        stderr(&not_an_id)
    );
}

/// What no attempt can mend is a dead letter after one attempt, whatever `retries` says: a
/// payload the handler cannot read, and an error it makes with `eventfn::permanent`.
#[test]
fn a_failure_no_retry_can_mend_is_dead_at_once() {
    let dir = test_dir("permanent");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    sandbox.publish_ok(&["refuse", "\"seven\""]);
    sandbox.publish_ok(&["refuse", "0"]);
    let dead = sandbox.wait_for("fixture_sandbox_app::refuse", |found| {
        found.len() == 2 && found.iter().all(|d| d["state"] == "dead")
    });
    for delivery in &dead {
        assert_eq!(delivery["attempts"], 1, "{delivery}");
    }
    let errors: Vec<&str> = dead.iter().map(|d| d["error"].as_str().unwrap()).collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("cannot read the payload as `u64`")
                && e.contains("not retried: every attempt would read it the same way")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.ends_with("failed for good (not retried): 0 is never a valid number here")),
        "{errors:?}"
    );
    // The handler ran once, for the 0; the string never reached it.
    assert_eq!(lines(&dir, "refuse"), ["0"]);
}

/// `events ID` shows one delivery in full: its payload, its event, every attempt with its time,
/// duration and error, named by the ids that `publish` and `events` print; the store keeps it
/// across a restart.
#[test]
fn one_delivery_is_shown_in_full_with_each_of_its_attempts() {
    let dir = test_dir("inspect");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    let said = sandbox.publish_ok(&["flaky", "7", "--after", "1 second"]);
    let event: u64 = said
        .split("(event ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("publish prints the event's id: {said}"));
    let flaky = sandbox.wait_for("fixture_sandbox_app::flaky", all_done(1));
    let id = flaky[0]["id"].as_u64().unwrap();
    assert_eq!(flaky[0]["event"], event);

    let detail = sandbox.detail(&flaky[0]["id"]);
    let delivery = &detail["delivery"];
    assert_eq!(delivery["body"], "7");
    assert_eq!(delivery["delay"], 1000);
    // Due a second after it was published, and again at each retry: `due` is the last.
    let first_due = delivery["time"].as_u64().unwrap() + 1000;
    assert!(delivery["due"].as_u64().unwrap() > first_due, "{detail:#}");
    let attempts = detail["attempts"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "done"], "{detail:#}");
    for (n, attempt) in attempts.iter().enumerate() {
        let n = n + 1;
        assert_eq!(attempt["attempt"], n);
        assert!(attempt["duration_us"].as_u64().is_some(), "{attempt}");
        assert!(
            attempt["started"].as_u64().unwrap() >= first_due,
            "{detail:#}"
        );
        if n < 3 {
            // The sandbox's words for the ids: the event's and the delivery's, never a message.
            assert_eq!(
                attempt["error"],
                format!(
                    "event `flaky`, handler `fixture_sandbox_app::flaky` (event {event}, delivery \
                     {id}, attempt {n}) failed: attempt {n} fails"
                ),
            );
        }
    }
    // Retried after 100 ms, then 200 ms: the history says when.
    let started: Vec<u64> = attempts
        .iter()
        .map(|a| a["started"].as_u64().unwrap())
        .collect();
    assert!(
        started[1] >= started[0] + 100 && started[2] >= started[1] + 200,
        "{started:?}"
    );
    let log = sandbox
        .log_until(|log| {
            log.iter()
                .filter(|l| l.contains("flaky handler ran"))
                .count()
                == 3
        })
        .join("\n");
    assert!(
        log.contains(&format!("(event {event}, delivery {id}, attempt 3)")),
        "{log}"
    );
    assert!(!log.contains("message"), "{log}");

    // As a person reads it.
    let shown = sandbox.eventfn(&["events", &id.to_string()]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    for expected in [
        format!("delivery {id} of event `flaky` to fixture_sandbox_app::flaky: done\n"),
        format!("event         {event} (event `flaky`)\n"),
        "delay         1s\n".to_owned(),
        "attempts      3\n".to_owned(),
        "payload       1 byte\n    7\n".to_owned(),
        "failed, retried\n".to_owned(),
        format!(
            "error: event `flaky`, handler `fixture_sandbox_app::flaky` (event {event}, delivery {id}, attempt 2) failed: attempt 2 fails\n"
        ),
    ] {
        assert!(text.contains(&expected), "`{expected}` in:\n{text}");
    }
    // The HTTP API has it too, bounded and checked as every route.
    let answer: Value = serde_json::from_str(
        &ureq::get(format!("{}/v1/deliveries/{id}", sandbox.url))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(answer, detail);

    // Bad ids, each with what was wrong and what to do.
    for (args, code, expected) in [
        (
            vec!["events", "999999"],
            1,
            "error: there is no delivery 999999 in the sandbox: `cargo eventfn events` lists its \
             deliveries, with their ids",
        ),
        (
            vec!["events", "m-1"],
            1,
            "error: `m-1` is not a delivery id of the sandbox: those are numbers, as the DELIVERY \
             column of `cargo eventfn events` lists them",
        ),
        (
            vec!["events", "1", "--stage", "qa"],
            1,
            "error: `events 1` shows a delivery of the sandbox; a deployed stage's dead letters \
             are listed",
        ),
        (
            vec!["events", "1", "--dead"],
            2,
            "the argument '[ID]' cannot be used with '--dead'",
        ),
    ] {
        let output = sandbox.eventfn(&args);
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }

    // The store keeps it across a restart of the sandbox.
    drop(sandbox);
    let restarted = Sandbox::start("fixture-sandbox-app", &dir);
    assert_eq!(restarted.detail(&json!(id)), detail);
}

/// The sandbox says what stops it as `cargo eventfn` says its errors, `error: ...`, not as Rust's
/// `main` would (`Error: ...`), and exits with 1.
#[test]
fn what_stops_the_sandbox_is_an_error_as_cargo_prints_it() {
    let dir = test_dir("stopped");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    let port = sandbox.url.rsplit(':').next().unwrap().to_owned();
    let other = dir.join("other");
    for (args, expected) in [
        (
            vec![
                "--port",
                "0",
                "--store",
                dir.join("store").to_str().unwrap(),
            ],
            "error: another sandbox is using the store at",
        ),
        (
            vec!["--port", &port, "--store", other.to_str().unwrap()],
            "error: the sandbox cannot listen on 127.0.0.1:",
        ),
    ] {
        let mut all = vec!["dev", "-p", "fixture-sandbox-app"];
        all.extend(args);
        let output = eventfn(&all, &[("NO_COLOR", "1")]);
        assert_eq!(output.status.code(), Some(1), "{all:?}");
        let said = stderr(&output);
        assert!(
            said.lines().any(|l| l.starts_with(expected)),
            "{all:?}: {said}"
        );
        assert!(!said.contains("Error:"), "{said}");
    }
}

/// A handler that aborts the whole process, restarted after each crash as a developer would: its
/// attempts are counted before it runs, so it runs exactly `retries + 1` times and ends a dead
/// letter, as on AWS, where each SQS receive counts.
#[test]
fn a_handler_that_takes_the_sandbox_down_runs_only_its_attempts() {
    let dir = test_dir("crash");
    for restart in 0..5 {
        let mut sandbox = Sandbox::start("fixture-sandbox-app", &dir);
        if restart == 0 {
            // Stored before it is acknowledged, but the handler may take the sandbox down before
            // the acknowledgement is out: what follows shows whether it was stored.
            let _ = sandbox.eventfn(&["publish", "crash", "7"]);
        } else if restart == 1 {
            // What it resumes is said before it is delivered, and so before the crash.
            let log = sandbox.log.lock().unwrap().clone();
            assert!(
                log.iter()
                    .any(|l| l.trim_start() == "Resuming 1 pending delivery from the store"),
                "{log:#?}"
            );
        }
        let started = Instant::now();
        loop {
            if let Some(status) = sandbox.child.try_wait().unwrap() {
                assert!(!status.success(), "the handler took the sandbox down");
                break;
            }
            // The sandbox may go down while it is asked: then the next round sees it gone.
            let listed = sandbox.eventfn(&["events", "--dead", "--message-format", "json"]);
            if listed.status.success() {
                let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
                let dead = &listed["deliveries"];
                if dead.as_array().is_some_and(|d| !d.is_empty()) {
                    assert_eq!(dead[0]["handler"], "fixture_sandbox_app::crash", "{dead}");
                    assert_eq!(dead[0]["attempts"], 2, "{dead}");
                    let error = dead[0]["error"].as_str().unwrap();
                    assert!(
                        error.contains("the sandbox stopped during attempt 2 of 2"),
                        "{error}"
                    );
                    assert_eq!(lines(&dir, "crash"), ["7 1", "7 2"]);
                    assert_eq!(restart, 2, "dead at the start after the second crash");
                    // Each attempt is kept, across the restarts: both ended with the sandbox.
                    let detail = sandbox.detail(&dead[0]["id"]);
                    let attempts: Vec<(&Value, &Value)> = detail["attempts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| (&a["attempt"], &a["outcome"]))
                        .collect();
                    assert_eq!(
                        attempts,
                        [
                            (&json!(1), &json!("stopped")),
                            (&json!(2), &json!("stopped"))
                        ],
                        "{detail:#}"
                    );
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "neither crashed nor dead"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("never a dead letter: ran {:?}", lines(&dir, "crash"));
}

#[test]
fn a_delayed_event_waits_for_its_time() {
    let dir = test_dir("delays");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    let said = sandbox.publish_ok(&["later", "1", "--after", "3 seconds"]);
    assert!(said.contains("delivered after 3s"), "{said}");
    let pending = sandbox.deliveries(&[]);
    assert_eq!(pending[0]["state"], "pending", "{pending:?}");
    assert_eq!(
        pending[0]["due"].as_u64().unwrap(),
        pending[0]["time"].as_u64().unwrap() + 3000
    );
    sandbox.wait_for("fixture_sandbox_app::later", all_done(1));
    let record = lines(&dir, "later");
    let fields: Vec<u64> = record[0].split(' ').map(|f| f.parse().unwrap()).collect();
    let [n, time, delay, ran] = fields[..] else {
        panic!("{record:?}")
    };
    assert_eq!((n, delay), (1, 3000));
    assert!(ran >= time + delay, "ran at {ran}, due at {}", time + delay);
    assert!(
        ran < time + delay + 2000,
        "promptly after: {}",
        ran - time - delay
    );

    // Another process, through eventfn::publish and EVENTFN_SANDBOX, with a delay.
    let app = target_dir().join("debug/fixture-sandbox-app");
    let output = Command::new(&app)
        .args(["publish", "later", "2", "1000"])
        .env("EVENTFN_SANDBOX", &sandbox.url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    sandbox.wait_for("fixture_sandbox_app::later", all_done(2));
    let second = lines(&dir, "later")[1].clone();
    assert!(
        second.starts_with("2 ") && second.contains(" 1000 "),
        "{second}"
    );
    let refused = Command::new(&app)
        .args(["publish", "nowhere", "2"])
        .env("EVENTFN_SANDBOX", &sandbox.url)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("no handler of this app subscribes to event `nowhere`"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_filter_decides_which_payloads_reach_its_handler_and_events_shows_the_rest() {
    let dir = test_dir("filters");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    for order in [
        r#"{"id": 1, "total": 150, "country": "NL"}"#,
        r#"{"id": 2, "total": 50, "country": "NL"}"#,
        r#"{"id": 3, "total": 500, "country": "DE"}"#,
        r#"{"id": 4, "total": 100.5, "country": ["US", "LU"]}"#,
    ] {
        sandbox.publish_ok(&["order", order]);
    }
    sandbox.wait_for("fixture_sandbox_app::every_order", all_done(4));
    let big = sandbox.wait_for("fixture_sandbox_app::big_order", |d| {
        d.len() == 4 && d.iter().all(|d| d["state"] != "pending")
    });
    let mut states: Vec<(u64, &str)> = big
        .iter()
        .map(|d| (d["event"].as_u64().unwrap(), d["state"].as_str().unwrap()))
        .collect();
    states.sort();
    let first = states[0].0;
    assert_eq!(
        states,
        [
            (first, "done"),
            (first + 1, "filtered"),
            (first + 2, "filtered"),
            (first + 3, "done")
        ]
    );
    // Filtered deliveries never ran the handler: it recorded the matching orders only.
    let mut ran = lines(&dir, "big_order");
    ran.sort();
    assert_eq!(ran, ["1", "4"]);
    assert_eq!(lines(&dir, "every_order").len(), 4);
    let filtered: Vec<&Value> = big.iter().filter(|d| d["state"] == "filtered").collect();
    assert!(filtered.iter().all(|d| d["attempts"] == 0), "{filtered:?}");

    // `events` says what became of them, and the live log said so when they were published.
    let listing = sandbox.eventfn(&["events"]);
    assert!(listing.status.success(), "{}", stderr(&listing));
    let text = String::from_utf8_lossy(&listing.stdout).into_owned();
    let shown: Vec<&str> = text.lines().filter(|l| l.contains("big_order")).collect();
    assert_eq!(shown.len(), 4, "{text}");
    assert_eq!(
        shown
            .iter()
            .filter(|l| l.contains(" filtered ")
                && l.ends_with(": the payload does not match its filter"))
            .count(),
        2,
        "{text}"
    );
    let log = sandbox.log_until(|log| log.iter().filter(|l| l.contains("Filtered")).count() == 2);
    let noted: Vec<&String> = log.iter().filter(|l| l.contains("Filtered")).collect();
    assert_eq!(noted.len(), 2, "{log:?}");
    assert!(
        noted[0].contains("event `order`")
            && noted[0]
                .contains("fixture_sandbox_app::big_order: the payload does not match its filter"),
        "{noted:?}"
    );
    // What was filtered is not a dead letter to replay.
    let id = filtered[0]["id"].to_string();
    let replay = sandbox.eventfn(&["replay", &id]);
    assert!(!replay.status.success());
    assert!(
        stderr(&replay).contains("is filtered, not dead"),
        "{}",
        stderr(&replay)
    );
}

#[test]
fn schedules_fire_on_their_own_and_when_triggered_and_queues_deliver() {
    let dir = test_dir("schedules");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    let started = Instant::now();
    let said = sandbox.eventfn(&["trigger", "new-year"]);
    assert!(said.status.success(), "{}", stderr(&said));
    sandbox.wait_for("fixture_sandbox_app::new_year", all_done(1));
    assert_eq!(lines(&dir, "new-year"), ["fired"]);

    let unknown = sandbox.eventfn(&["trigger", "never"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown)
            .contains("this app has no schedule `never`; its schedules are: minutely, new-year"),
        "{}",
        stderr(&unknown)
    );

    for n in 0..12 {
        sandbox.publish_ok(&["--queue", "jobs", &n.to_string()]);
    }
    sandbox.wait_for("fixture_sandbox_app::jobs", all_done(12));

    // A FIFO queue keeps its order through a failure and its retry.
    let jobs: Vec<Value> = (0..7)
        .map(|n| json!({"kind": "queue", "name": "ordered", "body": n.to_string()}))
        .collect();
    let published = ureq::post(format!("{}/v1/publish", sandbox.url))
        .header("content-type", "application/json")
        .send(json!({ "messages": jobs }).to_string())
        .unwrap();
    assert_eq!(published.status(), 200);
    sandbox.wait_for("fixture_sandbox_app::ordered", all_done(7));
    assert_eq!(
        lines(&dir, "ordered"),
        ["0 1", "1 1", "2 1", "2 2", "3 1", "4 1", "5 1", "6 1"]
    );

    // rate(1 minute) fires a minute after the sandbox started, on its own.
    sandbox.wait_for_minutely(started);
    assert_eq!(lines(&dir, "minutely").len(), 1);
}

impl Sandbox {
    fn wait_for_minutely(&self, started: Instant) {
        let deadline = Duration::from_secs(90);
        loop {
            let fired: Vec<Value> = self
                .deliveries(&["--limit", "10000"])
                .into_iter()
                .filter(|d| d["handler"] == "fixture_sandbox_app::minutely")
                .collect();
            if let [one] = fired.as_slice()
                && one["state"] == "done"
            {
                assert!(
                    started.elapsed() >= Duration::from_secs(55),
                    "fired after {:?}",
                    started.elapsed()
                );
                return;
            }
            assert!(started.elapsed() < deadline, "rate(1 minute) did not fire");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

#[test]
fn bad_input_is_refused_with_its_reason_and_stores_nothing() {
    let dir = test_dir("bad-input");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    let cases: [(&[&str], &str); 7] = [
        (
            &["flaky", "{not json"],
            "cannot send to event `flaky`: the payload is not JSON",
        ),
        (
            &["flakey", "1"],
            "no handler of this app subscribes to event `flakey` (did you mean `flaky`?)",
        ),
        (
            &["jobs", "1"],
            "`jobs` is a queue of this app; enqueue to it (`eventfn::enqueue`, `cargo eventfn \
             publish --queue`)",
        ),
        (
            &["nowhere", "1"],
            "no handler of this app subscribes to event `nowhere`; its events are: broken, burst, crash, flaky, later, order, refuse, slow",
        ),
        (
            &["flaky", "1", "--after", "5 mintues"],
            "--after: `after` is `5 mintues`",
        ),
        (&["flaky", "1", "--after=0"], "--after: "),
        (&["flaky", "1", "--after=-5"], "--after: "),
    ];
    for (args, expected) in cases {
        let mut all = vec!["publish"];
        all.extend_from_slice(args);
        let output = sandbox.eventfn(&all);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // What only a deployed stage reads is refused without --stage, not silently dropped.
    for (args, expected) in [
        (
            &["events", "-p", "welcome"][..],
            "-p/--package applies only to a deployed stage: add --stage NAME",
        ),
        (
            &[
                "replay",
                "--all",
                "--region",
                "eu-west-1",
                "--manifest-path",
                "Cargo.toml",
            ][..],
            "--manifest-path, --region apply only to a deployed stage: add --stage NAME",
        ),
    ] {
        let output = sandbox.eventfn(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // 300 KB, read from stdin (an argument that long is more than a command line takes): the
    // library's advice, too.
    let mut publish = Command::new(cargo_eventfn())
        .args(["eventfn", "publish", "flaky", "-"])
        .env("EVENTFN_SANDBOX", &sandbox.url)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let big = json!({"photo": "x".repeat(300 * 1024)}).to_string();
    std::io::Write::write_all(&mut publish.stdin.take().unwrap(), big.as_bytes()).unwrap();
    let output = publish.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with(&format!(
            "error: cannot send to event `flaky`: the payload is {} bytes as JSON; at most \
             261120 bytes fit in a message (256 KB with its attributes). Store large data \
             elsewhere (S3, a database) and send its key",
            big.len()
        )),
        "{}",
        stderr(&output)
    );
    // The API checks what other processes send, too.
    let refused = ureq::post(format!("{}/v1/publish", sandbox.url))
        .header("content-type", "application/json")
        .send(json!({"messages": [{"kind": "event", "name": "flaky", "body": "{x"}]}).to_string());
    let Err(ureq::Error::StatusCode(400)) = refused else {
        panic!("{refused:?}")
    };
    let (status, answer) =
        Sandbox::probe(&sandbox.url).send("flaky", &json!("x".repeat(256 * 1024)));
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("at most 261120 bytes fit in a message"),
        "{answer}"
    );
    assert!(sandbox.deliveries(&[]).is_empty(), "nothing stored");
}

#[test]
fn a_killed_sandbox_loses_no_accepted_event() {
    let dir = test_dir("kill");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    // 10,000 events from 64 publishers at once; the sandbox is killed (SIGKILL) half-way.
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let url = sandbox.url.clone();
    let publishers: Vec<_> = (0..64)
        .map(|_| {
            let (accepted, next, url) = (accepted.clone(), next.clone(), url.clone());
            std::thread::spawn(move || {
                let probe = Sandbox::probe(&url);
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= 10_000 {
                        return;
                    }
                    if probe.post("burst", &json!(n)) {
                        accepted.lock().unwrap().push(n);
                    }
                }
            })
        })
        .collect();
    while accepted.lock().unwrap().len() < 5_000 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut sandbox = sandbox;
    sandbox.child.kill().unwrap();
    sandbox.child.wait().unwrap();
    for publisher in publishers {
        publisher.join().unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    let delivered_before = lines(&dir, "burst").len();
    println!(
        "accepted {} of 10000 before the kill; {delivered_before} delivered",
        accepted.len()
    );
    drop(sandbox);

    let restarted = Sandbox::start("fixture-sandbox-app", &dir);
    let started = Instant::now();
    loop {
        let delivered: std::collections::HashSet<usize> = lines(&dir, "burst")
            .iter()
            .map(|l| l.parse().unwrap())
            .collect();
        let missing: Vec<usize> = accepted
            .iter()
            .copied()
            .filter(|n| !delivered.contains(n))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "accepted but never delivered: {missing:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    if delivered_before < accepted.len() {
        let log = restarted.log.lock().unwrap().join("\n");
        assert!(
            log.contains("Resuming"),
            "the restart says it resumes pending deliveries: {log}"
        );
    }
}

impl Sandbox {
    /// A handle on a sandbox started elsewhere, for publishing only.
    fn probe(url: &str) -> Probe {
        Probe {
            url: url.to_owned(),
        }
    }
}

struct Probe {
    url: String,
}

impl Probe {
    /// Whether the sandbox accepted the event.
    fn post(&self, name: &str, payload: &Value) -> bool {
        self.send(name, payload).0 == 200
    }

    /// `POST /v1/publish` of one event: the status (0 if there was no answer) and the body.
    fn send(&self, name: &str, payload: &Value) -> (u16, String) {
        let request =
            json!({"messages": [{"kind": "event", "name": name, "body": payload.to_string()}]});
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        match agent
            .post(format!("{}/v1/publish", self.url))
            .header("content-type", "application/json")
            .send(request.to_string())
        {
            Ok(mut response) => (
                response.status().as_u16(),
                response.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }
}

/// The sandbox runs a retry policy that AWS cannot keep, and says at its start that
/// `cargo eventfn build` refuses it.
#[test]
fn the_sandbox_warns_of_a_retry_policy_aws_cannot_keep() {
    let dir = test_dir("retry-window");
    // Through `dev`, which runs a link of its own: `cargo build`'s binary is replaced by the
    // build tests' `cargo eventfn build` of the same fixture, which can run at the same time.
    let mut app = command(&[
        "dev",
        "-p",
        "fixture-retry-window",
        "--port",
        "0",
        "--store",
        dir.to_str().unwrap(),
    ])
    .env("NO_COLOR", "1")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run the app");
    let stderr = app.stderr.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // After cargo's and the tool's own lines; the build may take a while on a fresh machine.
    let deadline = Instant::now() + Duration::from_secs(600);
    let warning = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) if line.starts_with("warning: handler") => break Ok(line),
            Ok(_) => continue,
            Err(e) => break Err(e),
        }
    };
    let _ = app.kill();
    let _ = app.wait();
    let warning = warning.expect("a line on stderr");
    assert!(
        warning.starts_with(
            "warning: handler `fixture_retry_window::slow_and_stubborn` at tests/fixtures/retry-window/src/main.rs:6:1: retries = 300"
        ),
        "{warning}"
    );
    assert!(
        warning.ends_with("`cargo eventfn build` refuses it"),
        "{warning}"
    );
}

/// chromedriver on a free loopback port, with the browsers it starts: all killed when dropped,
/// also when the test fails.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads a process group of its own: its browsers go with it. `--` makes
        // util-linux's kill read `-PID` as that group: without it, it killed far more here.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        use std::os::unix::process::CommandExt as _;
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                dir.join("chromedriver.log").display()
            ))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromedriver (scripts/setup installs Debian's chromium-driver)");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_for_port(port, "chromedriver");
        driver
    }

    /// A headless Chromium session, as the machine's closed network needs it started.
    async fn session(&self, dir: &Path) -> fantoccini::Client {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,900",
                    format!("--user-data-dir={}", dir.join("chromium").display()),
                ]
            }),
        );
        fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("start a Chromium session")
    }
}

/// Waits (ten seconds at most) until the text of the element `css` finds holds `wanted`.
async fn text_of(client: &fantoccini::Client, css: &str, wanted: &str) -> String {
    let started = Instant::now();
    loop {
        let text = match client.find(fantoccini::Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(wanted) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "`{css}` never showed `{wanted}`; it shows: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click(client: &fantoccini::Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
}

/// How many times the page has listed deliveries (`GET /v1/deliveries?limit=200`) so far.
async fn listings(client: &fantoccini::Client) -> u64 {
    client
        .execute(
            "return performance.getEntriesByType('resource')
                 .filter(e => e.name.includes('/v1/deliveries?limit=200')).length",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap()
}

#[test]
fn the_dashboard_shows_deliveries_live_and_replays_fires_and_purges() {
    let dir = test_dir("dashboard");
    let sandbox = Sandbox::start("fixture-sandbox-app", &dir);
    let driver = Driver::start(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = driver.session(&dir).await;
        client.goto(&format!("{}/", sandbox.url)).await.unwrap();
        text_of(&client, "#live", "live").await;
        // Figures for the record, not assertions (wall times swing here): the first load is in a
        // browser just started, the second is what a reload costs.
        for load in ["first load", "reload"] {
            if load == "reload" {
                client.refresh().await.unwrap();
                text_of(&client, "#live", "live").await;
            }
            let timing = client
                .execute(
                    "const paint = performance.getEntriesByName('first-contentful-paint')[0];
                     const bytes = [...performance.getEntriesByType('navigation'),
                                    ...performance.getEntriesByType('resource')]
                         .filter(e => !e.name.includes('/v1/'))
                         .reduce((sum, e) => sum + e.encodedBodySize, 0);
                     return [paint ? paint.startTime : null, bytes];",
                    vec![],
                )
                .await
                .unwrap();
            println!("dashboard: {load}: first contentful paint (ms), page bytes: {timing}");
        }

        // Publish from the App tab: its deliveries appear live, without the page listing again.
        click(&client, "button[data-tab=app]").await;
        let flaky = ".card[data-function='fixture_sandbox_app::flaky']";
        let payload = client
            .wait()
            .for_element(fantoccini::Locator::Css(&format!("{flaky} textarea")))
            .await
            .unwrap();
        payload.clear().await.unwrap();
        payload.send_keys("not json").await.unwrap();
        click(&client, &format!("{flaky} button[type=submit]")).await;
        text_of(&client, &format!("{flaky} .result"), "not JSON").await;
        payload.clear().await.unwrap();
        payload.send_keys("7").await.unwrap();
        let listed = listings(&client).await;
        click(&client, &format!("{flaky} button[type=submit]")).await;
        text_of(&client, &format!("{flaky} .result"), "published: event").await;
        text_of(&client, &format!("{flaky} .caused"), "fixture_sandbox_app::flaky: done").await;
        click(&client, "button[data-tab=deliveries]").await;
        let row = "#delivery-rows tr.state-done";
        text_of(&client, row, "fixture_sandbox_app::flaky").await;
        assert_eq!(
            listings(&client).await,
            listed,
            "the deliveries came through the stream, not by listing again"
        );

        // Open it: every attempt, with its error and what the handler logged.
        click(&client, row).await;
        let detail = text_of(&client, "#detail-body", "attempt 3").await;
        for wanted in ["attempt 1 fails", "attempt 2 fails", "flaky handler ran", "n=7"] {
            assert!(detail.contains(wanted), "`{wanted}` in {detail}");
        }
        assert!(!detail.contains("null"), "nothing missing shows: {detail}");


        // A dead letter, replayed once its handler is mended.
        sandbox.publish_ok(&["broken", "5"]);
        let handler = "fixture_sandbox_app::broken";
        let dead = sandbox.wait_for(handler, |found| {
            found.len() == 1 && found[0]["state"] == "dead"
        });
        click(&client, "button[data-tab=dead]").await;
        text_of(&client, "#dead-rows", "still broken").await;
        assert!(text_of(&client, "#dead-count", "1").await.contains('1'));
        // Opened, the failed delivery shows both its attempts and why each failed.
        click(&client, "#dead-rows a").await;
        let failed = text_of(&client, "#detail-body", "attempt 2").await;
        assert_eq!(failed.matches("still broken").count(), 2, "{failed}");
        assert!(failed.contains("(dead)"), "{failed}");
        std::fs::write(dir.join("fixed"), "").unwrap();
        click(&client, "#dead-rows button.replay").await;
        text_of(
            &client,
            "#notice",
            &format!("delivery {} replayed", dead[0]["id"]),
        )
        .await;
        sandbox.wait_for(handler, |found| found.len() == 1 && found[0]["state"] == "done");

        // A schedule fired from its card.
        click(&client, "button[data-tab=app]").await;
        click(
            &client,
            ".card[data-function='fixture_sandbox_app::new_year'] button.fire",
        )
        .await;
        text_of(&client, "#notice", "schedule new-year fired").await;
        sandbox.wait_for("fixture_sandbox_app::new_year", all_done(1));
        assert_eq!(lines(&dir, "new-year"), ["fired"]);

        // Every dead letter purged, once confirmed.
        std::fs::remove_file(dir.join("fixed")).unwrap();
        sandbox.publish_ok(&["broken", "6"]);
        sandbox.wait_for(handler, |found| {
            found.iter().filter(|d| d["state"] == "dead").count() == 1
        });
        click(&client, "button[data-tab=dead]").await;
        text_of(&client, "#dead-rows", "still broken").await;
        click(&client, "#purge-all").await;
        client.accept_alert().await.unwrap();
        text_of(&client, "#notice", "1 dead letter purged").await;
        assert_eq!(sandbox.deliveries(&["--dead"]), Vec::<Value>::new());

        // The screenshot the README shows: every delivery so far, the first one open.
        click(&client, "button[data-tab=deliveries]").await;
        click(&client, "#delivery-rows tr[data-id='1']").await;
        text_of(&client, "#detail-body", "flaky handler ran").await;
        // Scrolled back to where a user would see it, not where the click scrolled to.
        client
            .execute("document.getElementById('deliveries').scrollLeft = 0", vec![])
            .await
            .unwrap();
        let screenshot = client.screenshot().await.unwrap();
        let shot = dir.join("dashboard.png");
        std::fs::write(&shot, screenshot).unwrap();
        println!("dashboard: screenshot in {}", shot.display());

        // A page of another origin cannot publish, even without reading the answer: one on
        // loopback too, so that it is the sandbox that refuses it, not the browser's own rules
        // for pages of the internet.
        let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let elsewhere_url = format!("http://{}/", elsewhere.local_addr().unwrap());
        std::thread::spawn(move || {
            use std::io::{Read as _, Write as _};
            for stream in elsewhere.incoming() {
                let Ok(mut stream) = stream else { return };
                let _ = stream.read(&mut [0; 4096]);
                let page = "<!doctype html><p>elsewhere</p>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{page}",
                    page.len()
                );
            }
        });
        client.goto(&elsewhere_url).await.unwrap();
        let sent = client
            .execute_async(
                "const [url, done] = arguments;
                 fetch(url + '/v1/publish', {method: 'POST', mode: 'no-cors',
                     headers: {'Content-Type': 'text/plain'},
                     body: JSON.stringify({messages: [{kind: 'event', name: 'flaky', body: '99'}]})})
                   .then(() => done('sent'), e => done('failed: ' + e));",
                vec![json!(sandbox.url)],
            )
            .await
            .unwrap();
        assert_eq!(sent, "sent", "the browser sent it: the sandbox must refuse it");
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            !sandbox
                .deliveries(&["--limit", "10000"])
                .iter()
                .any(|d| d["body"] == "99"),
            "a cross-site publish was refused"
        );
        client.close().await.unwrap();
    });
}
