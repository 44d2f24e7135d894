//! End to end on the Lambda Runtime API: each handler of `fixture-lambda-app`, built by
//! `cargo eventfn build`, runs as its own function under the emulator of `cargo lambda watch`
//! (installed by `scripts/setup`), which delivers real SNS, SQS and EventBridge payloads
//! (`runtime/tests/fixtures/`) to it.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use eventfn_core::attempt::{Attempt, Outcome};
use serde_json::{Value, json};
use support::*;

/// The fixture app's bootstrap, built once per test process.
fn bootstrap() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| build_copy(&["-p", "fixture-lambda-app"], &[], "native").0)
        .clone()
}

/// Builds with `args` and copies the bootstrap to a path of its own named `name`: every build
/// of the fixture writes `target/eventfn/lambda-app/bootstrap`, which another test may be
/// running. Returns the copy and the build's summary.
fn build_copy(args: &[&str], envs: &[(&str, &str)], name: &str) -> (PathBuf, Value) {
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    let summary = build_ok(args, envs);
    let built = PathBuf::from(summary["files"]["bootstrap"].as_str().unwrap());
    let copy = built.with_file_name(format!("bootstrap-{name}"));
    std::fs::copy(&built, &copy).unwrap();
    (copy, summary)
}

/// `cargo lambda watch --only-lambda-apis` on a free loopback port.
struct Emulator {
    port: u16,
    _process: Process,
}

impl Emulator {
    fn start() -> Emulator {
        let cargo_lambda = venv_tool("cargo-lambda");
        let port = free_port();
        let process = Process(
            Command::new(cargo_lambda)
                .args([
                    "lambda",
                    "watch",
                    "--only-lambda-apis",
                    "-A",
                    "127.0.0.1",
                    "-P",
                ])
                .arg(port.to_string())
                .current_dir(root())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start cargo lambda watch"),
        );
        wait_for_port(port, "the emulator");
        Emulator {
            port,
            _process: process,
        }
    }

    /// Runs `handler` as the emulator's function; the lines its handlers print are collected.
    fn function(&self, handler: &str) -> Function {
        self.function_with(handler, &[])
    }

    fn function_with(&self, handler: &str, envs: &[(&str, &str)]) -> Function {
        self.function_of(&bootstrap(), handler, envs)
    }

    /// Runs `handler` of the given bootstrap.
    fn function_of(&self, bootstrap: &Path, handler: &str, envs: &[(&str, &str)]) -> Function {
        let mut child = Command::new(bootstrap)
            .envs(envs.iter().copied())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("EVENTFN_HANDLER", handler)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the bootstrap");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let (sink, log_sink) = (lines.clone(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // The runtime's own log lines (`ERROR Lambda runtime invoke...`, ` WARN ...`) go
                // to stdout too, for CloudWatch, as do eventfn's attempt lines; the handlers'
                // lines start in lower case.
                if !line.trim_start().starts_with(char::is_uppercase)
                    && Attempt::parse(&line).is_none()
                {
                    sink.lock().unwrap().push(line.clone());
                }
                log_sink.lock().unwrap().push(line);
            }
        });
        Function {
            lines,
            log,
            process: Process(child),
            port: self.port,
        }
    }
}

struct Function {
    lines: Arc<Mutex<Vec<String>>>,
    /// Every line it printed to stdout: its handlers' and its log's.
    log: Arc<Mutex<Vec<String>>>,
    process: Process,
    port: u16,
}

impl Function {
    /// Invokes the function with a raw body; returns the status and the response body.
    fn invoke_raw(&self, body: &str) -> (u16, Value) {
        self.invoke_bytes(body.as_bytes())
    }

    /// Invokes the function with a body of any bytes.
    fn invoke_bytes(&self, body: &[u8]) -> (u16, Value) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/_/invocations",
            self.port
        );
        let mut response = agent
            .post(&url)
            .header("content-type", "application/json")
            .send(body)
            .expect("invoke through the emulator");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn invoke(&self, body: &Value) -> (u16, Value) {
        self.invoke_raw(&body.to_string())
    }

    /// The first line of its log that contains `text`, waiting a little for it.
    fn logged(&self, text: &str) -> Option<String> {
        let started = Instant::now();
        loop {
            let found = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|line| line.contains(text))
                .cloned();
            if found.is_some() || started.elapsed() > Duration::from_secs(5) {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it printed so far.
    fn whole_log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Everything it printed, once it has printed nothing more for a while.
    fn settled_log(&self) -> String {
        let started = Instant::now();
        let mut count = 0;
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.log.lock().unwrap().len();
            if now == count || started.elapsed() > Duration::from_secs(10) {
                return self.whole_log();
            }
            count = now;
        }
    }

    /// The lines the handler printed so far, waiting a little for the last ones.
    fn printed(&self, count: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let lines = self.lines.lock().unwrap().clone();
            if lines.len() >= count || started.elapsed() > Duration::from_secs(5) {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts an error response of type `eventfn.<kind>` whose message contains `text`.
    fn assert_fails(&self, body: &str, kind: &str, text: &str) {
        self.assert_fails_bytes(body.as_bytes(), kind, text);
    }

    fn assert_fails_bytes(&self, body: &[u8], kind: &str, text: &str) {
        let (status, response) = self.invoke_bytes(body);
        assert_eq!(status, 500, "{response}");
        assert_eq!(
            response["errorType"],
            format!("eventfn.{kind}"),
            "{response}"
        );
        let message = response["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(text), "{message}");
    }
}

fn fixture(name: &str) -> Value {
    let path = root().join("runtime/tests/fixtures").join(name);
    serde_json::from_str(&read(path)).unwrap()
}

/// An SNS-through-SQS record whose envelope carries `message`.
fn envelope_with(message: &Value) -> Value {
    let mut event = fixture("sqs-sns-envelope.json");
    let body = event["Records"][0]["body"].as_str().unwrap();
    let mut envelope: Value = serde_json::from_str(body).unwrap();
    envelope["Message"] = message.to_string().into();
    event["Records"][0]["body"] = envelope.to_string().into();
    event
}

#[test]
fn an_event_handler_takes_every_delivery_shape() {
    let emulator = Emulator::start();
    let f = emulator.function("fixture_lambda_app::signup");
    let payload = |user: &str| json!({ "user_id": user });

    let mut sns = fixture("sns.json");
    sns["Records"][0]["Sns"]["Message"] = payload("u-sns").to_string().into();
    assert_eq!(f.invoke(&sns), (200, Value::Null));

    let mut minimal = fixture("sns-architect-sandbox.json");
    minimal["Records"][0]["Sns"]["Message"] = payload("u-arc").to_string().into();
    assert_eq!(f.invoke(&minimal), (200, Value::Null));

    assert_eq!(
        f.invoke(&envelope_with(&payload("u-env"))),
        (200, json!({"batchItemFailures": []}))
    );

    let mut raw = fixture("sqs-raw.json");
    raw["Records"][0]["body"] = payload("u-raw").to_string().into();
    assert_eq!(f.invoke(&raw), (200, json!({"batchItemFailures": []})));

    assert_eq!(f.invoke(&payload("u-direct")), (200, Value::Null));

    let printed = f.printed(5);
    assert_eq!(printed.len(), 5, "{printed:?}");
    assert_eq!(
        printed[0],
        "signup user=u-sns id=95df01b4-ee98-5cb9-9903-4c221d41eb5e attempt=1 delay=0"
    );
    assert!(
        printed[1].starts_with("signup user=u-arc id= attempt=1"),
        "{printed:?}"
    );
    assert_eq!(
        printed[2],
        "signup user=u-env id=5d1f1b4a-2fce-5c40-9d6f-3f0a8f8a1c11 attempt=2 delay=300000"
    );
    assert_eq!(
        printed[3],
        "signup user=u-raw id=059f36b4-87a3-44ab-83d2-661975830a7d attempt=1 delay=0"
    );
    assert!(
        printed[4].starts_with("signup user=u-direct id="),
        "{printed:?}"
    );
}

#[test]
fn failures_answer_with_their_cause_and_the_function_keeps_serving() {
    let emulator = Emulator::start();
    let f = emulator.function("fixture_lambda_app::signup");

    f.assert_fails(
        r#"{"user_id": 7}"#,
        "PayloadError",
        "event `account-signup`: handler `fixture_lambda_app::signup` cannot read the payload as `Signup`: field `user_id`: invalid type: integer `7`",
    );
    let mut other = fixture("sns.json");
    other["Records"][0]["Sns"]["MessageAttributes"]["eventfn.name"]["Value"] =
        json!("account-closed");
    f.assert_fails(
        &other.to_string(),
        "UnknownEvent",
        "received `account-closed`",
    );
    f.assert_fails(
        r#"{"Records": []}"#,
        "BadInput",
        "the event's `Records` list is empty",
    );
    f.assert_fails(
        &fixture("eventbridge-rule.json").to_string(),
        "UnknownEvent",
        "not a schedule",
    );

    // Not JSON at all: eventfn reads every body itself, and says what is wrong with it.
    f.assert_fails(
        "this is not json",
        "BadInput",
        "the body is not JSON: expected ident at line 1 column 2",
    );

    assert_eq!(f.invoke(&json!({"user_id": "after"})), (200, Value::Null));
    assert!(
        f.printed(1)
            .iter()
            .any(|l| l.starts_with("signup user=after"))
    );
}

/// Bodies no AWS service sends reach eventfn, which answers each with `eventfn.BadInput` saying
/// what was wrong and where, rather than `lambda_runtime` refusing them before eventfn sees them;
/// what can still be delivered is, and the function keeps serving.
#[test]
fn hostile_bodies_are_bad_inputs_that_say_what_and_where() {
    let emulator = Emulator::start();
    let f = emulator.function("fixture_lambda_app::signup");

    f.assert_fails_bytes(b"", "BadInput", "the body is empty");
    f.assert_fails(
        r#"{"Records": [{"Sns": {"Message": "{\"user_id\""#,
        "BadInput",
        "the body ends before its JSON does (was it cut short?): EOF while parsing a string at \
         line 1 column 46, within `Records[0].Sns.Message`",
    );
    f.assert_fails_bytes(
        b"{\"user_id\": \"u-\xFF\"}",
        "BadInput",
        "the body is not UTF-8: byte 0xff at line 1 column 16, within `user_id`",
    );
    f.assert_fails(
        r#"{"Records": [5]}"#,
        "BadInput",
        "the event cannot be read at `Records[0]`: invalid type: integer `5`, expected an SNS or \
         SQS record",
    );
    f.assert_fails(
        r#"{"Records": [{"Sns": {"Message": 5}}]}"#,
        "BadInput",
        "the event cannot be read at `Records[0].Sns.Message`: invalid type: integer `5`, \
         expected a string",
    );

    // A byte order mark is ignored; a `Timestamp` that is not a time is the time received, and
    // the log says so.
    let mut sns = fixture("sns.json");
    sns["Records"][0]["Sns"]["Message"] = json!({ "user_id": "u-bom" }).to_string().into();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(sns.to_string().as_bytes());
    assert_eq!(f.invoke_bytes(&bom), (200, Value::Null));
    sns["Records"][0]["Sns"]["Message"] = json!({ "user_id": "u-late" }).to_string().into();
    sns["Records"][0]["Sns"]["Timestamp"] = "yesterday".into();
    assert_eq!(f.invoke(&sns), (200, Value::Null));
    let printed = f.printed(2);
    assert!(printed[0].starts_with("signup user=u-bom "), "{printed:?}");
    assert!(printed[1].starts_with("signup user=u-late "), "{printed:?}");
    let warning = f
        .logged("is `yesterday`, not a time")
        .unwrap_or_else(|| f.whole_log());
    assert!(
        warning.contains(
            "the `Timestamp` of SNS message 95df01b4-ee98-5cb9-9903-4c221d41eb5e is `yesterday`, \
             not a time (RFC 3339): its time is taken as the time it was received"
        ),
        "{warning}"
    );

    // One record of a batch whose body is not a string fails alone.
    let mut batch = fixture("sqs-batch-one-bad.json");
    for (i, record) in batch["Records"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        record["body"] = json!({ "user_id": format!("u-sqs-{i}") })
            .to_string()
            .into();
    }
    batch["Records"][1]["body"] = json!(5);
    let (status, response) = f.invoke(&batch);
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]})
    );
    let printed = f.printed(4);
    assert!(
        printed[2].starts_with("signup user=u-sqs-0 "),
        "{printed:?}"
    );
    assert!(
        printed[3].starts_with("signup user=u-sqs-2 "),
        "{printed:?}"
    );
    let failed = f.logged("SQS message m-2").unwrap_or_else(|| f.whole_log());
    assert!(
        failed.contains(
            "SQS message m-2 (`Records[1]`) cannot be read: its `body` is a number, not a string"
        ),
        "{failed}"
    );

    assert_eq!(f.invoke(&json!({"user_id": "after"})), (200, Value::Null));
    assert!(f.printed(5)[4].starts_with("signup user=after"));
}

/// A payload field of 5 MB: Lambda's error response names the event, the handler and the field
/// in a few hundred bytes, as does the log line.
#[test]
fn an_error_about_a_huge_field_is_small_and_names_it() {
    let emulator = Emulator::start();
    let f = emulator.function("fixture_lambda_app::jobs");
    let huge = "9".repeat(5 * 1024 * 1024);
    let (status, response) = f.invoke(&json!({ "n": huge }));
    assert_eq!(status, 500);
    assert_eq!(response["errorType"], "eventfn.PayloadError");
    let message = response["errorMessage"].as_str().unwrap();
    assert!(message.len() < 600, "{} bytes", message.len());
    assert!(
        message.starts_with(
            "queue `jobs`: handler `fixture_lambda_app::jobs` cannot read the payload as `Job`: \
             field `n`: invalid type: string \"999"
        ),
        "{message}"
    );
    assert!(
        message.contains("… (5242880 characters in all)\", expected u32"),
        "{message}"
    );
    let longest = f.log.lock().unwrap().iter().map(String::len).max();
    assert!(
        longest.unwrap_or(0) < 2_000,
        "a log line of {longest:?} bytes"
    );
    assert_eq!(f.invoke(&json!({"n": 5})).0, 200);
}

#[test]
fn a_queue_batch_reports_its_failed_records_only() {
    let emulator = Emulator::start();
    let f = emulator.function("fixture_lambda_app::jobs");
    let mut batch = fixture("sqs-batch-one-bad.json");
    // m-1 fails (Err), m-2 does not deserialize, m-3 panics; m-4 succeeds.
    batch["Records"][0]["body"] = json!({"n": 13}).to_string().into();
    batch["Records"][2]["body"] = json!({"n": 666}).to_string().into();
    let mut ok = batch["Records"][0].clone();
    ok["messageId"] = "m-4".into();
    ok["body"] = json!({"n": 4}).to_string().into();
    batch["Records"].as_array_mut().unwrap().push(ok);
    let (status, response) = f.invoke(&batch);
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response,
        json!({"batchItemFailures": [
            {"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}
        ]})
    );
    assert_eq!(f.printed(1), ["job n=4 id=m-4 attempt=1"]);
    // One JSON line per attempt: what `cargo eventfn logs` and Logs Insights read. The record
    // whose payload is not a `Job` fails in a way no retry mends: it is dead at once.
    let log = f.settled_log();
    let attempts: Vec<Attempt> = log.lines().filter_map(Attempt::parse).collect();
    let seen: Vec<(&str, Outcome, bool)> = attempts
        .iter()
        .map(|a| (a.id.as_str(), a.outcome, a.error.is_some()))
        .collect();
    assert_eq!(
        seen,
        [
            ("m-1", Outcome::Retry, true),
            ("m-2", Outcome::Dead, true),
            ("m-3", Outcome::Retry, true),
            ("m-4", Outcome::Ok, false),
        ],
        "{log}"
    );
    let first = &attempts[0];
    assert_eq!(
        (
            first.kind,
            first.name.as_str(),
            first.handler.as_str(),
            first.attempt
        ),
        (
            eventfn_core::Kind::Queue,
            "jobs",
            "fixture_lambda_app::jobs",
            1
        )
    );
    assert!(
        first
            .error
            .as_deref()
            .unwrap()
            .contains("job 13 is unlucky"),
        "{first:?}"
    );

    // A direct invoke of the queue's handler fails as a whole, with the panic's message.
    f.assert_fails(r#"{"n": 666}"#, "Panic", "panicked: job 666 panics");
    f.assert_fails(r#"{"n": 13}"#, "HandlerError", "failed: job 13 is unlucky");
    assert_eq!(f.invoke(&json!({"n": 5})).0, 200);
}

#[test]
fn schedules_fire_from_eventbridge_rules_and_the_scheduler() {
    let emulator = Emulator::start();
    let f = emulator.function("fixture_lambda_app::hourly");
    assert_eq!(
        f.invoke(&fixture("eventbridge-rule.json")),
        (200, Value::Null)
    );
    assert_eq!(
        f.invoke(&fixture("eventbridge-scheduler.json")),
        (200, Value::Null)
    );
    // What the template's Scheduler schedule sends to the handler's queue, as Scheduler fills it
    // in: the time is the time it was due.
    let mut queued = fixture("sqs-raw.json");
    let record = &mut queued["Records"][0];
    record["messageAttributes"] = json!({});
    record["body"] = json!({
        "version": "0",
        "id": "4e1d7a1c-5d2b-4c55-9a55-0b6b8f1f2c3d",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2027-01-15T02:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/LambdaStaging/hourly-x"],
        "detail": {}
    })
    .to_string()
    .into();
    assert_eq!(f.invoke(&queued), (200, json!({"batchItemFailures": []})));
    assert_eq!(
        f.printed(3),
        [
            "hourly id=53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa time=1444323186000",
            "hourly id=c6f3f1a8-3b0c-4a8b-9c34-6d3b3f4a2e11 time=1714564800000",
            "hourly id=059f36b4-87a3-44ab-83d2-661975830a7d time=1799978400000"
        ]
    );
}

/// As on a Mac or a current distribution, where the host's own glibc cannot be linked against:
/// built through zig with glibc 2.17 pinned, the bootstrap needs nothing newer, and serves an
/// event from SNS, a queue's SQS batch and a schedule's EventBridge event.
#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn a_bootstrap_built_through_zig_for_glibc_2_17_serves_every_trigger() {
    let path = path_with_zig();
    let args = ["-p", "fixture-lambda-app", "--zig", "--glibc", "2.17"];
    let (zig, summary) = build_copy(&args, &[("PATH", &path)], "zig");
    let build = &summary["build"];
    assert_eq!(build["toolchain"], "zig", "{summary}");
    assert_eq!(build["target"], "x86_64-unknown-linux-gnu.2.17");
    assert_eq!(build["glibc_ceiling"], "2.17");
    let needed = newest_glibc(&std::fs::read(&zig).unwrap()).expect("links glibc");
    assert!(needed <= (2, 17), "needs glibc {needed:?}");
    assert_eq!(
        build["glibc_required"],
        format!("{}.{}", needed.0, needed.1)
    );
    let manifest: Value =
        serde_json::from_str(&read(summary["files"]["manifest"].as_str().unwrap())).unwrap();
    assert_eq!(&manifest["build"], build);

    // An emulator per function: it serves one function at a time.
    let emulator = Emulator::start();
    let signup = emulator.function_of(&zig, "fixture_lambda_app::signup", &[]);
    let mut sns = fixture("sns.json");
    sns["Records"][0]["Sns"]["Message"] = json!({ "user_id": "u-zig" }).to_string().into();
    assert_eq!(signup.invoke(&sns), (200, Value::Null));
    assert_eq!(
        signup.printed(1),
        ["signup user=u-zig id=95df01b4-ee98-5cb9-9903-4c221d41eb5e attempt=1 delay=0"]
    );
    drop((signup, emulator));

    let emulator = Emulator::start();
    let jobs = emulator.function_of(&zig, "fixture_lambda_app::jobs", &[]);
    let mut batch = fixture("sqs-batch-one-bad.json");
    batch["Records"][0]["body"] = json!({"n": 1}).to_string().into();
    batch["Records"][2]["body"] = json!({"n": 666}).to_string().into();
    assert_eq!(
        jobs.invoke(&batch),
        (
            200,
            json!({"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]})
        )
    );
    assert_eq!(jobs.printed(1), ["job n=1 id=m-1 attempt=1"]);
    drop((jobs, emulator));

    let emulator = Emulator::start();
    let hourly = emulator.function_of(&zig, "fixture_lambda_app::hourly", &[]);
    assert_eq!(
        hourly.invoke(&fixture("eventbridge-rule.json")),
        (200, Value::Null)
    );
    assert_eq!(
        hourly.printed(1),
        ["hourly id=53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa time=1444323186000"]
    );
}

#[test]
fn a_handler_past_its_timeout_fails_and_the_next_call_is_served() {
    let emulator = Emulator::start();
    let f = emulator.function("fixture_lambda_app::slow");
    let started = Instant::now();
    f.assert_fails(
        "null",
        "Timeout",
        "handler `fixture_lambda_app::slow` (message ",
    );
    f.assert_fails("null", "Timeout", "timed out after");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped by its own 1s timeout"
    );
}

#[test]
fn an_unknown_handler_fails_at_init() {
    let emulator = Emulator::start();
    let mut f = emulator.function("fixture_lambda_app::nope");
    let status = f.process.0.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    std::io::Read::read_to_string(f.process.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("EVENTFN_HANDLER=`fixture_lambda_app::nope` is not a handler of this binary; its handlers are: "),
        "{stderr}"
    );
}

/// Every message in a queue, waiting until `count` have arrived.
async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    count: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    let started = Instant::now();
    while all.len() < count && started.elapsed() < Duration::from_secs(20) {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        all.extend(received.messages.unwrap_or_default());
    }
    all
}

#[test]
fn a_handler_publishes_to_sns_and_sqs_found_in_the_environment_and_ssm() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (topic, audit_queue, invoices) = rt.block_on(async {
        let config = moto.config().await;
        let (sns, sqs, ssm) = (
            aws_sdk_sns::Client::new(&config),
            aws_sdk_sqs::Client::new(&config),
            aws_sdk_ssm::Client::new(&config),
        );
        let (topic, audit_queue) = audited_topic(&sns, &sqs).await;
        let invoices = create_queue(&sqs, "invoices").await;
        // The queue is found through SSM, as Architect does; the topic through the environment.
        ssm.put_parameter()
            .name("/ShopStaging/queues/invoices")
            .value(&invoices)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
        (topic, audit_queue, invoices)
    });

    let emulator = Emulator::start();
    let topics = json!({ "order.audit": topic }).to_string();
    let f = emulator.function_with(
        "fixture_lambda_app::forward",
        &[
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("EVENTFN_TOPICS", &topics),
            ("EVENTFN_STACK", "ShopStaging"),
        ],
    );
    let order = json!({ "id": "o-1", "total": 120 });
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert_eq!(f.invoke(&order), (200, Value::Null));

    // A name found in neither place is an error that says where it looked.
    f.assert_fails(
        r#"{"id": "o-2", "missing": true}"#,
        "HandlerError",
        "unknown event `order.missing`: it is not in EVENTFN_TOPICS, and SSM parameter `/ShopStaging/events/order.missing` does not exist",
    );

    rt.block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.config().await);
        // SNS delivers to the subscribed queue in its JSON envelope: 1 publish + 12 in batches.
        let audit = drain(&sqs, &audit_queue, 13).await;
        assert_eq!(audit.len(), 13);
        let mut bodies = Vec::new();
        for message in &audit {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let attributes = &envelope["MessageAttributes"];
            assert_eq!(
                attributes["eventfn.name"],
                json!({"Type": "String", "Value": "order.audit"})
            );
            assert_eq!(attributes["eventfn.time"]["Type"], "Number");
            let time: u64 = attributes["eventfn.time"]["Value"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(time >= before, "{time} >= {before}");
            bodies.push(envelope["Message"].as_str().unwrap().to_owned());
        }
        bodies.sort();
        let mut expected: Vec<String> = (0..12)
            .map(|i| json!({"copy": i, "order": "o-1"}).to_string())
            .collect();
        expected.push(order.to_string());
        expected.sort();
        assert_eq!(bodies, expected);

        let sent = drain(&sqs, &invoices, 1).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].body(), Some(order.to_string().as_str()));
        let attributes = sent[0].message_attributes().unwrap();
        assert_eq!(attributes["eventfn.name"].string_value(), Some("invoices"));
        assert_eq!(attributes["eventfn.time"].data_type(), "Number");
    });
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Topic `order-audit`: its ARN.
async fn order_audit(sns: &aws_sdk_sns::Client) -> String {
    sns.create_topic()
        .name("order-audit")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap()
}

/// Topic `order-audit`, and queue `audit-copy` subscribed to it: (topic ARN, queue URL).
async fn audited_topic(sns: &aws_sdk_sns::Client, sqs: &aws_sdk_sqs::Client) -> (String, String) {
    let topic = order_audit(sns).await;
    let audit_queue = create_queue(sqs, "audit-copy").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn(sqs, &audit_queue).await)
        .send()
        .await
        .unwrap();
    (topic, audit_queue)
}

/// How many messages wait in a queue's delay.
async fn delayed_count(sqs: &aws_sdk_sqs::Client, queue: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed as Delayed;
    sqs.get_queue_attributes()
        .queue_url(queue)
        .attribute_names(Delayed)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&Delayed]
        .parse()
        .unwrap()
}

/// An SQS batch from the delay queue with one record per body.
fn delay_queue_batch(bodies: &[&str]) -> Value {
    let mut event = fixture("sqs-raw.json");
    let template = event["Records"][0].clone();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut record = template.clone();
            record["messageId"] = format!("delayed-{i}").into();
            record["body"] = (*body).into();
            record["messageAttributes"] = json!({});
            record["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:delay".into();
            record
        })
        .collect();
    event["Records"] = records.into();
    event
}

/// A delay within 15 minutes waits in SQS: a standard queue's job in its own queue, an event in
/// the delay queue; a longer one waits in a one-time schedule that sends to the delay queue. The
/// delay queue's function (`@delayed`) sends each on with the time and delay it was published
/// with, and waits again what is left of one that arrives early. moto holds delayed SQS messages
/// as SQS does and keeps schedules, without running them: the test plays the scheduler's part.
#[test]
fn a_delayed_publish_waits_in_sqs_or_a_schedule_and_is_sent_on_when_due() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(moto.config());
    let (sns, sqs, scheduler) = (
        aws_sdk_sns::Client::new(&config),
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_scheduler::Client::new(&config),
    );
    let (topic, audit_queue, invoices, delay_queue, route) = rt.block_on(async {
        let (topic, audit_queue) = audited_topic(&sns, &sqs).await;
        let invoices = create_queue(&sqs, "invoices").await;
        let delay_queue = create_queue(&sqs, "delay").await;
        let delay_dead = create_queue(&sqs, "delay-dead").await;
        // The template's `AWS::Scheduler::ScheduleGroup`, which moto's CloudFormation skips.
        scheduler
            .create_schedule_group()
            .name("ShopStaging")
            .send()
            .await
            .unwrap();
        let route = json!({
            "queue": delay_queue,
            "queueArn": queue_arn(&sqs, &delay_queue).await,
            "group": "ShopStaging",
            "role": "arn:aws:iam::123456789012:role/ShopStaging-SchedulerRole",
            "deadLettersArn": queue_arn(&sqs, &delay_dead).await,
        });
        (topic, audit_queue, invoices, delay_queue, route)
    });
    let topics = json!({ "order.audit": topic }).to_string();
    let queues = json!({ "invoices": invoices }).to_string();
    let route_text = route.to_string();
    let envs = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("EVENTFN_TOPICS", &topics),
        ("EVENTFN_QUEUES", &queues),
        ("EVENTFN_DELAY", &route_text),
    ];
    let publisher = Emulator::start();
    let later = publisher.function_with("fixture_lambda_app::later", &envs);
    let forwarder_emulator = Emulator::start();
    let forwarder = forwarder_emulator.function_with("@delayed", &envs);

    // Two seconds: the job waits in `invoices` itself, the event in the delay queue.
    let order = json!({ "id": "o-1", "after": "2 seconds" });
    let published = now_ms();
    assert_eq!(later.invoke(&order), (200, Value::Null));
    let waiting = rt.block_on(async {
        assert_eq!(delayed_count(&sqs, &invoices).await, 1);
        assert_eq!(delayed_count(&sqs, &delay_queue).await, 1);
        let early = sqs
            .receive_message()
            .queue_url(&invoices)
            .send()
            .await
            .unwrap();
        assert!(
            early.messages.unwrap_or_default().is_empty(),
            "delivered early"
        );
        tokio::time::sleep(Duration::from_millis(2_100)).await;

        let job = drain(&sqs, &invoices, 1).await;
        assert_eq!(job.len(), 1);
        assert_eq!(job[0].body(), Some(order.to_string().as_str()));
        let attributes = job[0].message_attributes().unwrap();
        assert_eq!(attributes["eventfn.delay"].string_value(), Some("2000"));
        let time: u64 = attributes["eventfn.time"]
            .string_value()
            .unwrap()
            .parse()
            .unwrap();
        assert!((published..published + 2_000).contains(&time), "{time}");

        let waiting = drain(&sqs, &delay_queue, 1).await;
        assert_eq!(waiting.len(), 1);
        waiting[0].body().unwrap().to_owned()
    });
    let envelope: Value = serde_json::from_str(&waiting).unwrap();
    assert_eq!(envelope["eventfn"]["kind"], "event");
    assert_eq!(envelope["eventfn"]["name"], "order.audit");
    assert_eq!(envelope["eventfn"]["delay"], 2000);
    assert_eq!(envelope["payload"], order);
    let time = envelope["eventfn"]["time"].as_u64().unwrap();

    // Due: the forwarder publishes it to the topic with its publish time and delay; a body that
    // is not a delayed message fails its record alone.
    let (status, response) =
        forwarder.invoke(&delay_queue_batch(&[&waiting, r#"{"not": "delayed"}"#]));
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": "delayed-1" }] })
    );
    rt.block_on(async {
        let audit = drain(&sqs, &audit_queue, 1).await;
        assert_eq!(audit.len(), 1);
        let sent: Value = serde_json::from_str(audit[0].body().unwrap()).unwrap();
        assert_eq!(sent["Message"], order.to_string());
        let attributes = &sent["MessageAttributes"];
        assert_eq!(attributes["eventfn.name"]["Value"], "order.audit");
        assert_eq!(attributes["eventfn.delay"]["Value"], "2000");
        assert_eq!(attributes["eventfn.time"]["Value"], time.to_string());
    });

    // Two days: a one-time schedule each, at the second it is due (rounded up), sending the
    // delayed message to the delay queue with the scheduler's role, deleted once it ran.
    let order = json!({ "id": "o-2", "after": "2 days" });
    let before = now_ms();
    assert_eq!(later.invoke(&order), (200, Value::Null));
    let after = now_ms();
    let schedules = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let listed = scheduler
                .list_schedules()
                .group_name("ShopStaging")
                .send()
                .await
                .unwrap();
            let mut found = Vec::new();
            for summary in listed.schedules() {
                found.push(
                    scheduler
                        .get_schedule()
                        .group_name("ShopStaging")
                        .name(summary.name().unwrap())
                        .send()
                        .await
                        .unwrap(),
                );
            }
            found
        })
    };
    let scheduled = schedules(&rt);
    assert_eq!(scheduled.len(), 2);
    let mut kinds = Vec::new();
    let two_days = 2 * 86_400_000;
    for schedule in &scheduled {
        let target = schedule.target().unwrap();
        assert_eq!(target.arn(), route["queueArn"].as_str().unwrap());
        assert_eq!(target.role_arn(), route["role"].as_str().unwrap());
        // What the delay queue would not take within a day goes to its dead letters.
        assert_eq!(
            target.dead_letter_config().and_then(|d| d.arn()),
            route["deadLettersArn"].as_str()
        );
        let input: Value = serde_json::from_str(target.input().unwrap()).unwrap();
        assert_eq!(input["payload"], order);
        assert_eq!(input["eventfn"]["delay"], two_days);
        kinds.push(format!(
            "{}:{}",
            input["eventfn"]["kind"], input["eventfn"]["name"]
        ));
        let due = input["eventfn"]["time"].as_u64().unwrap() + two_days;
        assert!((before + two_days..=after + two_days).contains(&due));
        let second = due.div_ceil(1000) as i64;
        let at = chrono::DateTime::from_timestamp(second, 0).unwrap();
        assert_eq!(
            schedule.schedule_expression(),
            Some(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")).as_str())
        );
        assert_eq!(schedule.schedule_expression_timezone(), Some("UTC"));
        assert_eq!(
            schedule.action_after_completion(),
            Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete)
        );
        assert_eq!(
            schedule.flexible_time_window().unwrap().mode(),
            &aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off
        );
    }
    kinds.sort();
    assert_eq!(kinds, [r#""event":"order.audit""#, r#""queue":"invoices""#]);

    // A schedule's message that reaches the forwarder early waits again: nothing is sent, and a
    // new schedule holds it until it is due.
    let early = scheduled[0].target().unwrap().input().unwrap().to_owned();
    let (status, response) = forwarder.invoke(&delay_queue_batch(&[&early]));
    assert_eq!(
        (status, response),
        (200, json!({ "batchItemFailures": [] }))
    );
    assert_eq!(schedules(&rt).len(), 3);

    // A delay that is not in the future, more than a year ahead or unreadable is refused before
    // anything is sent.
    for (after, error) in [
        ("13 months", "more than one year ahead"),
        ("0", "not in the future"),
        ("soon", "`after` is `soon`, which is not"),
    ] {
        later.assert_fails(
            &json!({ "id": "o-3", "after": after }).to_string(),
            "HandlerError",
            error,
        );
    }
    assert_eq!(schedules(&rt).len(), 3);
    rt.block_on(async {
        for queue in [&invoices, &delay_queue, &audit_queue] {
            assert_eq!(delayed_count(&sqs, queue).await, 0);
            let left = sqs.receive_message().queue_url(queue).send().await.unwrap();
            assert!(left.messages.unwrap_or_default().is_empty(), "{queue}");
        }
    });
}

/// A message that fails its last attempt (`EVENTFN_ATTEMPTS`), or fails in a way no attempt can
/// mend (a payload it cannot read), goes to the function's dead-letter queue with why, how many
/// attempts and which handler, and its record is reported handled; one with attempts left is
/// returned to its queue as before. When the dead letters cannot be
/// reached, the record is reported failed, for the queue's redrive to move.
#[test]
fn the_last_failed_attempt_goes_to_the_dead_letters_with_its_error() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sqs = aws_sdk_sqs::Client::new(&rt.block_on(moto.config()));
    let dead = rt.block_on(create_queue(&sqs, "jobs-dead"));
    let emulator = Emulator::start();
    let aws = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("EVENTFN_ATTEMPTS", "3"),
    ];
    let mut envs = aws.to_vec();
    envs.push(("EVENTFN_DEAD_LETTERS", &dead));
    let f = emulator.function_with("fixture_lambda_app::jobs", &envs);

    let mut batch = fixture("sqs-batch-one-bad.json");
    let records = batch["Records"].as_array_mut().unwrap();
    for (record, (body, receives)) in records.iter_mut().zip([
        (r#"{"n":13}"#, "3"),
        (r#"{"n":13}"#, "2"),
        (r#"{"n":7}"#, "3"),
    ]) {
        record["body"] = body.into();
        record["attributes"]["ApproximateReceiveCount"] = receives.into();
        record["messageAttributes"] = json!({
            "eventfn.name": { "stringValue": "jobs", "dataType": "String" },
            "eventfn.time": { "stringValue": "1795514400000", "dataType": "Number" },
        });
    }
    // A payload no attempt can read, on its first: a dead letter at once.
    let mut unreadable = records[1].clone();
    unreadable["messageId"] = "m-4".into();
    unreadable["body"] = r#"{"n":"seven"}"#.into();
    unreadable["attributes"]["ApproximateReceiveCount"] = "1".into();
    records.push(unreadable);
    let (status, response) = f.invoke(&batch);
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]})
    );
    rt.block_on(async {
        let mut buried = drain(&sqs, &dead, 2).await;
        assert_eq!(buried.len(), 2);
        let seven = buried
            .iter()
            .position(|m| m.body() == Some(r#"{"n":"seven"}"#))
            .map(|at| buried.remove(at))
            .expect("the unreadable payload is a dead letter");
        let attributes = seven.message_attributes().unwrap();
        assert_eq!(attributes["eventfn.attempts"].string_value(), Some("1"));
        let error = attributes["eventfn.error"].string_value().unwrap();
        assert!(
            error.contains("cannot read the payload as `Job`")
                && error.contains("not retried: every attempt would read it the same way"),
            "{error}"
        );
        assert_eq!(buried[0].body(), Some(r#"{"n":13}"#));
        let attributes = buried[0].message_attributes().unwrap();
        let value = |key: &str| attributes[key].string_value().unwrap().to_owned();
        assert_eq!(value("eventfn.name"), "jobs");
        assert_eq!(value("eventfn.time"), "1795514400000");
        assert_eq!(value("eventfn.attempts"), "3");
        assert_eq!(value("eventfn.handler"), "fixture_lambda_app::jobs");
        let error = value("eventfn.error");
        assert!(
            error.contains("handler `fixture_lambda_app::jobs` (message m-1, attempt 3) failed: job 13 is unlucky"),
            "{error}"
        );
    });
    drop(f);

    // Dead letters that cannot be reached: the record is failed, and the queue's redrive will
    // move it.
    let mut envs = aws.to_vec();
    let gone = format!("{}/123456789012/no-such-queue", moto.endpoint);
    envs.push(("EVENTFN_DEAD_LETTERS", &gone));
    let f = emulator.function_with("fixture_lambda_app::jobs", &envs);
    let (status, response) = f.invoke(&batch);
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response,
        json!({"batchItemFailures": [
            {"itemIdentifier": "m-1"},
            {"itemIdentifier": "m-2"},
            {"itemIdentifier": "m-4"}
        ]})
    );
}

/// With `RUST_LOG=trace`, the AWS SDK would print the session token (`x-amz-security-token`) and
/// the signature of every request it sends; eventfn leaves those events out unless
/// `EVENTFN_LOG_SECRETS=1`.
#[test]
fn trace_logs_never_print_credentials_unless_asked_to() {
    const TOKEN: &str = "SESSION-TOKEN-0123456789-must-not-be-logged";
    const SECRET: &str = "SECRET-KEY-0123456789-must-not-be-logged";
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (topic, invoices) = rt.block_on(async {
        let config = moto.config().await;
        let sns = aws_sdk_sns::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        (
            order_audit(&sns).await,
            create_queue(&sqs, "invoices").await,
        )
    });
    let topics = json!({ "order.audit": topic }).to_string();
    let queues = json!({ "invoices": invoices }).to_string();
    let envs = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
        ("AWS_REGION", "us-east-1"),
        ("EVENTFN_TOPICS", &topics),
        ("EVENTFN_QUEUES", &queues),
        ("RUST_LOG", "trace"),
    ];
    let emulator = Emulator::start();
    let publish = |f: &Function| {
        assert_eq!(f.invoke(&json!({ "id": "o-1" })), (200, Value::Null));
        f.settled_log()
    };

    let f = emulator.function_with("fixture_lambda_app::forward", &envs);
    let log = publish(&f);
    assert!(
        log.contains("TRACE"),
        "traced: {}",
        &log[..log.len().min(2_000)]
    );
    assert!(!log.contains(TOKEN), "the session token was logged");
    assert!(!log.contains(SECRET), "the secret key was logged");
    assert!(
        log.contains("are left out of the log: they print credentials"),
        "the log says what it leaves out"
    );
    drop(f);

    // Asked for, they are there: the test sees what it looks for.
    let mut open = envs.to_vec();
    open.push(("EVENTFN_LOG_SECRETS", "1"));
    let f = emulator.function_with("fixture_lambda_app::forward", &open);
    let log = publish(&f);
    assert!(
        log.contains(TOKEN),
        "the SDK's trace events were not logged"
    );
}

/// `put_event` on Lambda: `PutEvents` on the bus that `EVENTFN_BUSES` names (the template sets
/// it to the bus it made), twelve events in two calls of at most ten; a bus found in neither the
/// environment nor SSM is an error that says where it looked. moto's EventBridge delivers what
/// was put to a rule's queue, as the whole event.
#[test]
fn a_handler_puts_events_on_its_apps_bus_through_eventbridge() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let probe = rt.block_on(async {
        let config = moto.config().await;
        let eventbridge = aws_sdk_eventbridge::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        eventbridge
            .create_event_bus()
            .name("ShopStaging-budgets")
            .send()
            .await
            .unwrap();
        let probe = create_queue(&sqs, "budget-probe").await;
        eventbridge
            .put_rule()
            .name("every-budget")
            .event_bus_name("ShopStaging-budgets")
            .event_pattern(r#"{"detail-type": ["BUDGET_ANALYSIS", "BUDGET_COPY"]}"#)
            .send()
            .await
            .unwrap();
        let arn = queue_arn(&sqs, &probe).await;
        target_queue(
            &eventbridge,
            "every-budget",
            "ShopStaging-budgets",
            "probe",
            &arn,
        )
        .await;
        probe
    });

    let emulator = Emulator::start();
    // `nowhere` is mapped to a bus that does not exist: EventBridge refuses the whole call.
    let buses =
        json!({ "budgets": "ShopStaging-budgets", "nowhere": "ShopStaging-nowhere" }).to_string();
    let f = emulator.function_with(
        "fixture_lambda_app::submit",
        &[
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("EVENTFN_BUSES", &buses),
            ("EVENTFN_STACK", "ShopStaging"),
        ],
    );
    assert_eq!(
        f.invoke(&json!({ "id": "b-1", "amount": 12000 })),
        (200, Value::Null)
    );
    f.assert_fails(
        r#"{"id": "b-2", "nowhere": true}"#,
        "HandlerError",
        "cannot put 1 event on bus `nowhere` (0 of 1 put before): ResourceNotFoundException: \
         Event bus ShopStaging-nowhere does not exist.",
    );
    // A bus found in neither the environment nor SSM says where it looked.
    f.assert_fails(
        r#"{"id": "b-3", "elsewhere": true}"#,
        "HandlerError",
        "unknown bus `elsewhere`: it is not in EVENTFN_BUSES, and SSM parameter `/ShopStaging/buses/elsewhere` does not exist",
    );

    rt.block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.config().await);
        let events: Vec<Value> = drain(&sqs, &probe, 13)
            .await
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
            .collect();
        assert_eq!(events.len(), 13, "{events:#?}");
        let first = events
            .iter()
            .find(|e| e["detail-type"] == "BUDGET_ANALYSIS")
            .expect("the budget");
        assert_eq!(first["source"], "shop");
        assert_eq!(first["detail"], json!({ "id": "b-1", "amount": 12000 }));
        let mut copies: Vec<u64> = events
            .iter()
            .filter(|e| e["detail-type"] == "BUDGET_COPY")
            .map(|e| {
                assert_eq!(e["source"], "eventfn", "the default source");
                e["detail"]["copy"].as_u64().unwrap()
            })
            .collect();
        copies.sort_unstable();
        assert_eq!(copies, (0..12).collect::<Vec<u64>>());
    });
}
