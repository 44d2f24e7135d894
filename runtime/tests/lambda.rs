//! Dispatch of real Lambda payloads (`tests/fixtures/`) to typed handlers, as `eventfn::run()`
//! does on Lambda; here without the Runtime API (tests/tests/lambda.rs runs it under the
//! `cargo lambda` emulator).

use std::sync::Mutex;

use eventfn::lambda::{Dispatcher, FailureKind, Incoming, select};

// The handlers record what they saw in one list, and serving every handler (`*`) delivers to
// several: the tests run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
use eventfn::{Context, event, queue, rule, schedule};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Signup {
    user: User,
}

#[derive(Debug, Deserialize)]
struct User {
    email: String,
}

/// What a handler saw: (handler, email or n, id, time, delay, attempt).
type Seen = (String, String, String, u64, u64, u32);

/// What the handlers saw, for the assertions.
static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

fn seen(handler: &str, what: String, ctx: &Context) {
    SEEN.lock().unwrap().push((
        handler.to_owned(),
        what,
        ctx.id().to_owned(),
        ctx.time(),
        ctx.delay(),
        ctx.attempt(),
    ));
}

fn take_seen(handler: &str) -> Vec<Seen> {
    let mut all = SEEN.lock().unwrap();
    let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|s| s.0 == handler);
    *all = rest;
    mine
}

#[event("account-signup")]
async fn welcome(signup: Signup, ctx: Context) -> eventfn::Result<()> {
    seen("welcome", signup.user.email, &ctx);
    Ok(())
}

/// A second subscriber of `account-signup`, seen only when every handler is served.
#[event("account-signup")]
async fn audit(signup: Signup, ctx: Context) -> eventfn::Result<()> {
    seen("audit", signup.user.email, &ctx);
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Job {
    n: u32,
}

#[queue("jobs")]
async fn jobs(job: Job, ctx: Context) -> eventfn::Result<()> {
    seen("jobs", job.n.to_string(), &ctx);
    Ok(())
}

#[event("failing")]
async fn failing(job: Job) -> eventfn::Result<()> {
    match job.n {
        13 => Err(format!("unlucky {}", job.n).into()),
        7 => Err(eventfn::permanent("job 7 is gone")),
        8 => {
            // Any error, made permanent where it happens.
            std::fs::read("/nonexistent/eventfn-job-8").map_err(eventfn::permanent)?;
            Ok(())
        }
        666 => panic!("the handler panicked on purpose"),
        _ => Ok(()),
    }
}

#[event("slow", timeout = "1s")]
async fn slow() -> eventfn::Result<()> {
    tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    Ok(())
}

#[schedule("rate(1 day)")]
async fn nightly(ctx: Context) -> eventfn::Result<()> {
    seen("nightly", String::new(), &ctx);
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Upload {
    bucket: Bucket,
}

#[derive(Debug, Deserialize)]
struct Bucket {
    name: String,
}

/// What the rule's handler saw of the envelope: (source, detail-type, account, region,
/// resources, event id).
type Envelope = (String, String, String, String, Vec<String>, String);
static ENVELOPES: Mutex<Vec<Envelope>> = Mutex::new(Vec::new());

#[rule(
    bus = "default",
    pattern = r#"{"source": ["aws.s3"], "detail-type": ["Object Created"]}"#
)]
async fn on_upload(upload: Upload, ctx: Context) -> eventfn::Result<()> {
    ENVELOPES.lock().unwrap().push((
        ctx.source().to_owned(),
        ctx.detail_type().to_owned(),
        ctx.account().to_owned(),
        ctx.region().to_owned(),
        ctx.resources().to_vec(),
        ctx.event_id().to_owned(),
    ));
    seen("on_upload", upload.bucket.name, &ctx);
    Ok(())
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn dispatcher(function: &str) -> Dispatcher {
    match select(eventfn::handlers().unwrap(), Some(function)) {
        Ok(dispatcher) => dispatcher,
        Err(failure) => panic!("{failure}"),
    }
}

#[tokio::test]
async fn sns_records_reach_the_handler_with_their_metadata() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::welcome");
    assert_eq!(
        d.dispatch(fixture("sns.json").into(), "req-1", 0).await,
        Ok(Value::Null)
    );
    let seen = take_seen("welcome");
    assert_eq!(seen.len(), 1);
    let (_, email, id, time, delay, attempt) = &seen[0];
    assert_eq!(email, "a@example.com");
    assert_eq!(id, "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    assert_eq!((*time, *delay, *attempt), (1_700_000_000_000, 0, 1));
}

#[tokio::test]
async fn architect_sandbox_sns_records_are_read_leniently() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::welcome");
    d.dispatch(fixture("sns-architect-sandbox.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(take_seen("welcome")[0].1, "b@example.com");
}

#[tokio::test]
async fn sns_notifications_through_sqs_are_unwrapped() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::welcome");
    let response = d
        .dispatch(fixture("sqs-sns-envelope.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let seen = take_seen("welcome");
    let (_, email, id, time, delay, attempt) = &seen[0];
    assert_eq!(email, "c@example.com");
    assert_eq!(id, "5d1f1b4a-2fce-5c40-9d6f-3f0a8f8a1c11");
    assert_eq!((*time, *delay, *attempt), (1_714_557_600_000, 300_000, 2));
}

#[tokio::test]
async fn raw_sqs_delivery_reads_the_body_and_attributes() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::welcome");
    d.dispatch(fixture("sqs-raw.json").into(), "req-1", 0)
        .await
        .unwrap();
    let seen = take_seen("welcome");
    let (_, email, id, time, _, attempt) = &seen[0];
    assert_eq!(email, "d@example.com");
    assert_eq!(id, "059f36b4-87a3-44ab-83d2-661975830a7d");
    assert_eq!((*time, *attempt), (1_545_082_649_183, 1));
}

#[tokio::test]
async fn an_sqs_batch_reports_only_its_failed_records() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::jobs");
    let response = d
        .dispatch(fixture("sqs-batch-one-bad.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]})
    );
    let done: Vec<String> = take_seen("jobs").into_iter().map(|s| s.1).collect();
    assert_eq!(done, ["1", "3"]);
}

#[tokio::test]
async fn schedules_fire_from_rules_and_from_the_scheduler() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::nightly");
    d.dispatch(fixture("eventbridge-rule.json").into(), "req-1", 0)
        .await
        .unwrap();
    d.dispatch(fixture("eventbridge-scheduler.json").into(), "req-1", 0)
        .await
        .unwrap();
    let seen = take_seen("nightly");
    assert_eq!(seen[0].2, "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
    assert_eq!(seen[0].3, 1_444_323_186_000);
    assert_eq!(seen[1].2, "c6f3f1a8-3b0c-4a8b-9c34-6d3b3f4a2e11");
}

#[tokio::test]
async fn a_schedule_delivered_through_its_queue_fires_with_the_rules_time() {
    let _serial = SERIAL.lock().await;
    // How the generated template delivers schedules: rule → the handler's SQS queue → Lambda.
    let answer = dispatcher("lambda::nightly")
        .dispatch(fixture("sqs-eventbridge.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    let seen = take_seen("nightly");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].2, "7b2d6e0e-4f4c-4d7a-9d2e-2f0c8a1b5e3d");
    assert_eq!(
        seen[0].3, 1_444_323_186_000,
        "the rule's time, not the send time"
    );
    // A schedule's body never reaches an event handler as its payload.
    let wrong = dispatcher("lambda::welcome")
        .dispatch(fixture("sqs-eventbridge.json").into(), "req-2", 0)
        .await
        .unwrap();
    assert_eq!(wrong["batchItemFailures"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_direct_invoke_is_the_bare_payload() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::welcome");
    d.dispatch(fixture("direct.json").into(), "req-1", 0)
        .await
        .unwrap();
    let seen = take_seen("welcome");
    assert_eq!(
        (seen[0].1.as_str(), seen[0].2.as_str()),
        ("e@example.com", "req-1")
    );
}

async fn failure(function: &str, payload: Value) -> (FailureKind, String) {
    let failure = dispatcher(function)
        .dispatch(payload.into(), "req-1", 0)
        .await
        .unwrap_err();
    (failure.kind, failure.message)
}

#[tokio::test]
async fn failures_name_event_handler_and_cause_and_the_next_call_works() {
    let _serial = SERIAL.lock().await;
    let d = dispatcher("lambda::failing");
    let (kind, message) = failure("lambda::failing", json!({"n": 13})).await;
    assert_eq!(kind, FailureKind::HandlerError);
    assert_eq!(
        message,
        "event `failing`, handler `lambda::failing` (message req-1, attempt 1) failed: unlucky 13"
    );

    let (kind, message) = failure("lambda::failing", json!({"n": 666})).await;
    assert_eq!(kind, FailureKind::Panic);
    assert!(
        message.ends_with("panicked: the handler panicked on purpose"),
        "{message}"
    );

    let (kind, message) = failure("lambda::failing", json!({"m": 1})).await;
    assert_eq!(kind, FailureKind::PayloadError);
    assert_eq!(
        message,
        "event `failing`: handler `lambda::failing` cannot read the payload as `Job`: missing field \
         `n` at line 1 column 7 (message req-1, attempt 1; not retried: every attempt would read \
         it the same way)"
    );

    // What the handler says no attempt can mend, from a string or from any error.
    for (n, why) in [
        (7, "job 7 is gone"),
        (8, "No such file or directory (os error 2)"),
    ] {
        let failure = dispatcher("lambda::failing")
            .dispatch(json!({ "n": n }).into(), "req-1", 0)
            .await
            .unwrap_err();
        assert_eq!(failure.kind, FailureKind::Permanent);
        assert!(failure.is_permanent());
        assert_eq!(
            failure.message,
            format!(
                "event `failing`, handler `lambda::failing` (message req-1, attempt 1) failed for \
                 good (not retried): {why}"
            )
        );
    }
    let retried = dispatcher("lambda::failing")
        .dispatch(json!({"n": 13}).into(), "req-1", 0)
        .await
        .unwrap_err();
    assert!(!retried.is_permanent(), "a plain error is retried");

    // The dispatcher keeps serving after each of those.
    assert_eq!(
        d.dispatch(json!({"n": 1}).into(), "req-1", 0).await,
        Ok(Value::Null)
    );
}

#[tokio::test]
async fn a_handler_past_its_timeout_fails() {
    let _serial = SERIAL.lock().await;
    let (kind, message) = failure("lambda::slow", json!(null)).await;
    assert_eq!(kind, FailureKind::Timeout);
    assert!(message.contains("handler `lambda::slow`"), "{message}");
    assert!(message.contains("timed out after"), "{message}");
}

#[tokio::test]
async fn bad_inputs_are_clear_errors() {
    let _serial = SERIAL.lock().await;
    let (kind, message) = failure("lambda::welcome", json!({"Records": []})).await;
    assert_eq!(kind, FailureKind::BadInput);
    assert_eq!(
        message,
        "the event's `Records` list is empty: there is nothing to handle"
    );

    let (kind, message) = failure("lambda::welcome", json!({"Records": [{"s3": {}}]})).await;
    assert_eq!(kind, FailureKind::BadInput);
    assert!(message.contains("neither an SNS nor an SQS"), "{message}");

    let (kind, message) = failure(
        "lambda::welcome",
        json!({"Records": [{"Sns": {"Subject": "no message"}}]}),
    )
    .await;
    assert_eq!(kind, FailureKind::BadInput);
    assert!(message.contains("without a `Message`"), "{message}");

    // An event published under another name: this function is not its subscriber.
    let mut other = fixture("sns.json");
    other["Records"][0]["Sns"]["MessageAttributes"]["eventfn.name"]["Value"] = json!("other-event");
    let (kind, message) = failure("lambda::welcome", other).await;
    assert_eq!(kind, FailureKind::UnknownEvent);
    assert!(
        message.starts_with(
            "received `other-event`, but this function runs event handler `lambda::welcome`"
        ),
        "{message}"
    );

    let (kind, _) = failure("lambda::welcome", fixture("eventbridge-rule.json")).await;
    assert_eq!(kind, FailureKind::UnknownEvent);
}

/// The body of an SNS delivery of `message`, as bytes.
fn sns_of(message: &str) -> Vec<u8> {
    let mut event = fixture("sns.json");
    event["Records"][0]["Sns"]["Message"] = message.into();
    event.to_string().into_bytes()
}

/// What `function` answers to `body`, as Lambda would hand it over.
async fn answer(function: &str, body: &[u8]) -> Result<Value, (FailureKind, String)> {
    dispatcher(function)
        .dispatch(Incoming::from_slice(body), "req-1", 0)
        .await
        .map_err(|f| (f.kind, f.message))
}

/// Bodies no AWS service sends, as a hand-written test event, an emulator or an attacker might:
/// each fails with `eventfn.BadInput`, saying what was wrong and where, and the next invocation
/// is served.
#[tokio::test]
async fn every_hostile_body_is_a_bad_input_that_says_what_and_where() {
    let _serial = SERIAL.lock().await;
    let cases: &[(&[u8], &str)] = &[
        (b"", "the body is empty"),
        (b" \r\n\t", "the body is empty"),
        (b"\xEF\xBB\xBF", "the body is empty"),
        (
            br#"{"Records": [{"Sns": {"Message": "{\"user\""#,
            "the body ends before its JSON does (was it cut short?): EOF while parsing a string \
             at line 1 column 43, within `Records[0].Sns.Message`",
        ),
        (br#"{"Records": ["#, "the body ends before its JSON does"),
        (br#"{"user": {"email""#, "the body ends before its JSON does"),
        (b"\xFF\xFE{}", "the body is not UTF-8: byte 0xff at line 1 column 1"),
        (
            b"{\"user\": {\"email\": \"a\xC3\x28@example.com\"}}",
            "the body is not UTF-8: byte 0xc3 at line 1 column 22, within `user.email`",
        ),
        (
            b"{\"Records\": [{\"Sns\": {\"Message\": \"\xED\xA0\x80\"}}]}",
            "the body is not UTF-8: byte 0xed at line 1 column 35, within `Records[0].Sns.Message`",
        ),
        (b"not json", "the body is not JSON: "),
        (b"{'user': 1}", "the body is not JSON: key must be a string at line 1 column 2"),
        (br#"{"a": 1} x"#, "the body is not JSON: trailing characters at line 1 column 10"),
        (b"{\"a\": 1,}", "the body is not JSON: trailing comma"),
        (b"[1, 2", "the body ends before its JSON does"),
        (b"\x00", "the body is not JSON"),
        (br#"{"Records": [5]}"#, "the event cannot be read at `Records[0]`: invalid type: integer `5`"),
        (br#"{"Records": [null]}"#, "the event cannot be read at `Records[0]`: invalid type: null"),
        (br#"{"Records": [[]]}"#, "the event cannot be read at `Records[0]`: invalid type: sequence"),
        (br#"{"Records": [{}, 5]}"#, "the event cannot be read at `Records[1]`"),
        (br#"{"Records": []}"#, "`Records` list is empty"),
        (br#"{"Records": {}}"#, "the event's `Records` is an object, not a list of records"),
        (br#"{"Records": "x"}"#, "the event's `Records` is a string, not a list of records"),
        (br#"{"Records": null}"#, "the event's `Records` is null, not a list of records"),
        (
            br#"{"Records": [{"Sns": {"Message": 5}}]}"#,
            "the event cannot be read at `Records[0].Sns.Message`: invalid type: integer `5`, \
             expected a string at line 1 column 34",
        ),
        (
            br#"{"Records": [{"Sns": {"Message": {"user": {"email": "a@b"}}}}]}"#,
            "the event cannot be read at `Records[0].Sns.Message`: invalid type: map, expected a \
             string",
        ),
        (br#"{"Records": [{"Sns": {"Message": null}}]}"#, "`Records[0].Sns` is an SNS record without a `Message`"),
        (br#"{"Records": [{"Sns": {}}]}"#, "`Records[0].Sns` is an SNS record without a `Message`"),
        (br#"{"Records": [{"Sns": 5}]}"#, "the event cannot be read at `Records[0].Sns`: invalid type: integer `5`"),
        (
            br#"{"Records": [{"Sns": {"Message": "{}", "MessageId": 7}}]}"#,
            "the event cannot be read at `Records[0].Sns.MessageId`: invalid type: integer `7`",
        ),
        (
            br#"{"Records": [{"Sns": {"Message": "{}", "MessageAttributes": {"eventfn.name": "x"}}}]}"#,
            "the event cannot be read at `Records[0].Sns.MessageAttributes.eventfn.name`",
        ),
        (br#"{"Records": [{"s3": {}}]}"#, "`Records[0]` is neither an SNS nor an SQS record"),
        (
            br#"{"Records": [{"Sns": {"Message": "{}"}}, {"body": "{}", "messageId": "m"}]}"#,
            "`Records[0]` is an SNS record and `Records[1]` is not: the event's `Records` mix SNS \
             records with others",
        ),
        (br#"{"Records": [{"body": "{}"}]}"#, "`Records[0]` is an SQS record without a `messageId`"),
        (
            br#"{"Records": [{"body": "{}", "messageId": "m-1"}, {"body": 5, "messageId": ""}]}"#,
            "`Records[1]` is an SQS record without a `messageId`: Lambda cannot be told which \
             record failed, so the batch fails as a whole",
        ),
        (
            br#"{"source": "aws.events", "detail-type": "Scheduled Event", "time": "noon"}"#,
            "the EventBridge event cannot be read at `time`: ",
        ),
    ];
    for (body, expected) in cases {
        let shown = String::from_utf8_lossy(body);
        let (kind, message) = answer("lambda::welcome", body).await.expect_err(&shown);
        assert_eq!(kind, FailureKind::BadInput, "{shown}: {message}");
        assert!(
            message.starts_with(expected) || message.contains(expected),
            "{shown}:\n  {message}\nshould say\n  {expected}"
        );
        assert!(message.len() < 400, "{shown}: {message}");
    }
    // None of those stopped anything.
    assert_eq!(
        answer("lambda::welcome", br#"{"user": {"email": "ok"}}"#).await,
        Ok(Value::Null)
    );
    assert_eq!(take_seen("welcome").len(), 1);
}

#[tokio::test]
async fn a_byte_order_mark_before_the_json_is_ignored() {
    let _serial = SERIAL.lock().await;
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(sns_of(r#"{"user":{"email":"bom@example.com"}}"#));
    assert_eq!(answer("lambda::welcome", &body).await, Ok(Value::Null));
    assert_eq!(take_seen("welcome")[0].1, "bom@example.com");
}

#[tokio::test]
async fn an_sns_timestamp_that_is_not_a_time_costs_only_the_time() {
    let _serial = SERIAL.lock().await;
    for timestamp in [
        json!("yesterday"),
        json!(1_700_000_000),
        json!({"at": 1}),
        json!(""),
    ] {
        let mut event = fixture("sns.json");
        let attributes = &mut event["Records"][0]["Sns"]["MessageAttributes"];
        attributes.as_object_mut().unwrap().remove("eventfn.time");
        event["Records"][0]["Sns"]["Timestamp"] = timestamp.clone();
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert_eq!(
            answer("lambda::welcome", event.to_string().as_bytes()).await,
            Ok(Value::Null),
            "{timestamp}"
        );
        let seen = take_seen("welcome");
        assert_eq!(seen[0].1, "a@example.com");
        // The time it was received, rather than none.
        assert!(seen[0].3 >= before, "{timestamp}: {}", seen[0].3);
    }
}

#[tokio::test]
async fn an_sqs_record_without_a_string_body_fails_alone() {
    let _serial = SERIAL.lock().await;
    let mut batch = fixture("sqs-batch-one-bad.json");
    // m-1 has a number for a body, m-2 no body at all, m-3 an object; m-4 is fine.
    batch["Records"][0]["body"] = json!(5);
    batch["Records"][1].as_object_mut().unwrap().remove("body");
    batch["Records"][2]["body"] = json!({"n": 3});
    let mut fine = batch["Records"][0].clone();
    fine["messageId"] = "m-4".into();
    fine["body"] = json!({"n": 4}).to_string().into();
    batch["Records"].as_array_mut().unwrap().push(fine);
    let response = answer("lambda::jobs", batch.to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [
            {"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}
        ]})
    );
    let done: Vec<String> = take_seen("jobs").into_iter().map(|s| s.1).collect();
    assert_eq!(done, ["4"]);
}

/// A payload field holding 5 MB: the error names the event, the handler and the field in a few
/// hundred bytes, quoting the start of the value and its length.
#[tokio::test]
async fn an_error_about_a_huge_field_stays_small_and_names_it() {
    let _serial = SERIAL.lock().await;
    let huge = "x".repeat(5 * 1024 * 1024);
    let (kind, message) = answer(
        "lambda::welcome",
        &sns_of(&json!({ "user": huge }).to_string()),
    )
    .await
    .unwrap_err();
    assert_eq!(kind, FailureKind::PayloadError);
    assert!(message.len() < 600, "{} bytes: {message}", message.len());
    assert!(
        message.starts_with(
            "event `account-signup`: handler `lambda::welcome` cannot read the payload as \
             `Signup`: field `user`: invalid type: string \"xxxxxxxx"
        ),
        "{message}"
    );
    assert!(
        message.contains("… (5242880 characters in all)\", expected struct User at line 1"),
        "{message}"
    );

    // A direct invoke of the same: the field is a number's.
    let (kind, message) = answer("lambda::jobs", json!({ "n": huge }).to_string().as_bytes())
        .await
        .unwrap_err();
    assert_eq!(kind, FailureKind::PayloadError);
    assert!(message.len() < 600, "{} bytes", message.len());
    assert!(
        message.contains("field `n`: invalid type: string"),
        "{message}"
    );

    // An event name, a message id or a map key of megabytes: quoted, cut.
    let mut other = fixture("sns.json");
    other["Records"][0]["Sns"]["MessageAttributes"]["eventfn.name"]["Value"] = huge.clone().into();
    other["Records"][0]["Sns"]["MessageId"] = huge.clone().into();
    let (kind, message) = answer("lambda::welcome", other.to_string().as_bytes())
        .await
        .unwrap_err();
    assert_eq!(kind, FailureKind::UnknownEvent);
    assert!(message.len() < 600, "{} bytes", message.len());
    let key = format!(r#"{{"user": {{"{huge}": 1, "email": 5}}}}"#);
    let (_, message) = answer("lambda::welcome", key.as_bytes()).await.unwrap_err();
    assert!(message.len() < 600, "{} bytes", message.len());
    assert!(message.contains("field `user.email`"), "{message}");
}

#[test]
fn the_handler_must_be_named() {
    let entries = eventfn::handlers().unwrap();
    let missing = select(entries, None).err().unwrap();
    assert_eq!(missing.kind, FailureKind::Init);
    assert!(
        missing.message.starts_with(
            "EVENTFN_HANDLER is not set: it names the handler this function runs, one of: "
        ),
        "{}",
        missing.message
    );
    let unknown = select(entries, Some("lambda::nope")).err().unwrap();
    assert!(
        unknown
            .message
            .starts_with("EVENTFN_HANDLER=`lambda::nope` is not a handler of this binary"),
        "{}",
        unknown.message
    );
}

#[tokio::test]
async fn one_function_can_serve_every_handler() {
    let _serial = SERIAL.lock().await;
    let all = dispatcher("*");

    // By the name the publisher set: both subscribers of the event run.
    all.dispatch(fixture("sns.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(take_seen("welcome").len(), 1);
    assert_eq!(take_seen("audit").len(), 1);

    // By the queue the batch came from (no name attribute): `arn:...:jobs`.
    let response = all
        .dispatch(fixture("sqs-batch-one-bad.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]})
    );
    assert_eq!(take_seen("jobs").len(), 2);

    // The app's only schedule, whatever its rule is called.
    all.dispatch(fixture("eventbridge-rule.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(take_seen("nightly").len(), 1);

    let mut other = fixture("sns.json");
    other["Records"][0]["Sns"]["MessageAttributes"]["eventfn.name"]["Value"] = json!("other-event");
    let failure = all.dispatch(other.into(), "req-1", 0).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::UnknownEvent);
    assert_eq!(
        failure.message,
        "no handler of this binary handles `other-event`"
    );

    let failure = all
        .dispatch(json!({"n": 1}).into(), "req-1", 0)
        .await
        .unwrap_err();
    assert!(
        failure
            .message
            .starts_with("cannot tell which event this is"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_fifo_batch_stops_at_its_first_failure() {
    let _serial = SERIAL.lock().await;
    let mut batch = fixture("sqs-batch-one-bad.json");
    for record in batch["Records"].as_array_mut().unwrap() {
        record["eventSourceARN"] = json!("arn:aws:sqs:us-east-1:123456789012:jobs.fifo");
    }
    let response = dispatcher("lambda::jobs")
        .dispatch(batch.into(), "req-1", 0)
        .await
        .unwrap();
    // m-2 does not deserialize; m-3 is returned without being delivered, to keep the order.
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]})
    );
    let done: Vec<String> = take_seen("jobs").into_iter().map(|s| s.1).collect();
    assert_eq!(done, ["1"]);
}

/// The delay queue's function fails each message it cannot send on alone, saying why in a few
/// hundred bytes, before it sends anything.
#[tokio::test]
async fn the_delay_queue_fails_what_it_cannot_send_on_alone() {
    let _serial = SERIAL.lock().await;
    let huge = "n".repeat(1_000_000);
    let mut batch = fixture("sqs-raw.json");
    let template = batch["Records"][0].clone();
    let bodies = [
        json!(
            json!({"eventfn": {"kind": "event", "name": huge, "time": 1, "delay": 0},
                     "payload": {}})
            .to_string()
        ),
        json!(5),
        json!(huge),
        json!(
            json!({"eventfn": {"kind": "schedule", "name": "nightly", "time": 1, "delay": 0},
                   "payload": null})
            .to_string()
        ),
    ];
    batch["Records"] = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut record = template.clone();
            record["messageId"] = format!("d-{i}").into();
            record["body"] = body.clone();
            record
        })
        .collect();
    let d = dispatcher("@delayed");
    let response = d
        .dispatch(
            Incoming::from_slice(batch.to_string().as_bytes()),
            "req-1",
            0,
        )
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [
            {"itemIdentifier": "d-0"}, {"itemIdentifier": "d-1"},
            {"itemIdentifier": "d-2"}, {"itemIdentifier": "d-3"}
        ]})
    );
    // Not a batch from the delay queue at all: the invocation fails.
    let failure = d
        .dispatch(Incoming::from_slice(b"{\"n\": 1}"), "req-1", 0)
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::BadInput);
}

/// A `#[rule]`'s event, as its rule sends it to the handler's queue: the handler reads the
/// `detail` as its payload and the envelope from its `Context`; a detail that does not fit its
/// type, and a body that is no EventBridge event, fail alone, naming the field.
#[tokio::test]
async fn a_rules_event_reaches_its_handler_as_detail_and_envelope() {
    let _serial = SERIAL.lock().await;
    ENVELOPES.lock().unwrap().clear();
    let answer = dispatcher("lambda::on_upload")
        .dispatch(fixture("sqs-eventbridge-s3.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]})
    );
    let seen = take_seen("on_upload");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, "uploads");
    assert_eq!(seen[0].2, "m-1", "the delivery's id is the SQS message's");
    assert_eq!(seen[0].3, 1_636_675_200_000, "the event's time");
    assert_eq!(
        ENVELOPES.lock().unwrap().as_slice(),
        [(
            "aws.s3".to_owned(),
            "Object Created".to_owned(),
            "111122223333".to_owned(),
            "ca-central-1".to_owned(),
            vec!["arn:aws:s3:::uploads".to_owned()],
            "17793124-05d4-b198-2fde-7ededc63b103".to_owned(),
        )]
    );

    let batch = fixture("sqs-eventbridge-s3.json");
    let (kind, message) = failure(
        "lambda::on_upload",
        batch["Records"][1]["body"]
            .as_str()
            .map(|b| serde_json::from_str(b).unwrap())
            .unwrap(),
    )
    .await;
    assert_eq!(kind, FailureKind::PayloadError);
    assert!(
        message.starts_with(
            "rule `on_upload`: handler `lambda::on_upload` cannot read the payload as `Upload`: \
             field `detail.bucket.name`: invalid type: integer `7`, expected a string"
        ),
        "{message}"
    );
    let (kind, message) = failure("lambda::on_upload", json!({"not": "an event"})).await;
    assert_eq!(kind, FailureKind::PayloadError);
    assert!(
        message.starts_with(
            "rule `on_upload`: handler `lambda::on_upload` cannot read the payload as `an \
             EventBridge event`: missing field `source`"
        ),
        "{message}"
    );
    // Served with every other handler, the event goes where its pattern matches.
    let all = dispatcher("*");
    all.dispatch(fixture("sqs-eventbridge-s3.json").into(), "req-1", 0)
        .await
        .unwrap();
    assert_eq!(take_seen("on_upload").len(), 1);
    assert!(take_seen("nightly").is_empty());
}

/// A payload that eventfn sent (it carries `eventfn.name`) stays a payload, whatever its shape:
/// one that looks like an EventBridge event still goes to its queue's handler, not to the rules.
#[tokio::test]
async fn a_payload_shaped_like_an_eventbridge_event_is_still_a_payload() {
    let _serial = SERIAL.lock().await;
    let mut batch = fixture("sqs-raw.json");
    let body = json!({"n": 3, "source": "aws.s3", "detail-type": "Object Created", "detail": {}});
    batch["Records"][0]["body"] = body.to_string().into();
    batch["Records"][0]["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:jobs".into();
    batch["Records"][0]["messageAttributes"]["eventfn.name"] =
        json!({"stringValue": "jobs", "dataType": "String"});
    for function in ["lambda::jobs", "*"] {
        let answer = dispatcher(function)
            .dispatch(batch.clone().into(), "req-1", 0)
            .await
            .unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}), "{function}");
        let seen = take_seen("jobs");
        assert_eq!(seen.len(), 1, "{function}");
        assert_eq!(seen[0].1, "3");
        assert!(take_seen("on_upload").is_empty(), "{function}");
    }
}
