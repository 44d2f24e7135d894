//! `cargo eventfn invoke --stage NAME HANDLER [JSON]`: one handler's function of a deployed
//! stage called synchronously, with the event its trigger would hand it, and what came of it.
//!
//! Every handler of a stage is reached through its own SQS queue (an event's topic delivers to
//! it raw, a schedule's schedule and a rule's rule send to it), so the event is the one record
//! of an SQS batch that Lambda's event source mapping would pass: the payload as the body, with
//! the `eventfn.*` attributes a publish sets, or for a schedule or a rule the EventBridge event
//! as the body. The function answers as it answers its queue: a batch response naming the
//! record when it failed and is to be retried. With `LogType: Tail`, Lambda also returns the
//! last 4 KB of the function's log, where the runtime's attempt line (`eventfn_core::attempt`)
//! tells what happened, with the handler's lines before it; those are shown as `logs` shows
//! them.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use clap::Args;
use eventfn_core::Kind;
use eventfn_core::attempt::{Attempt, Outcome};
use serde::Serialize;
use serde_json::{Value, json};

use crate::aws::Session;
use crate::dead::open_stack;
use crate::deploy::runtime;
use crate::logs::{Function, StageOutput};
use crate::sandbox::now_ms;
use crate::shell::Shell;
use crate::{MessageFormat, stack};

#[derive(Args, Debug, Clone)]
pub struct InvokeArgs {
    /// The handler to call: its Rust path (`welcome::audit`) or its last part (`audit`).
    #[arg(value_name = "HANDLER")]
    pub handler: String,

    /// The payload as JSON: an event's or a job's payload, or a rule's event detail; `-` reads it
    /// from stdin. A schedule's handler takes none.
    #[arg(value_name = "JSON")]
    pub json: Option<String>,

    /// For a rule's handler: the event's detail type, like "Object Created".
    #[arg(long, value_name = "TYPE")]
    pub detail_type: Option<String>,

    /// For a rule's handler: the event's source, like `aws.s3` (default: `eventfn`, what the app's
    /// own `put_event` sends).
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,

    #[command(flatten)]
    pub out: StageOutput,
}

/// What a function is triggered by, from its description (`event `account-signup`: app::f`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trigger {
    kind: Kind,
    name: String,
}

/// A function of the stage with what `invoke` needs to shape its event.
#[derive(Debug, Clone)]
struct Target {
    function: Function,
    trigger: Trigger,
    /// The ARN of the queue its event source mapping reads, when the stack has it.
    queue_arn: Option<String>,
    /// The ARN of its schedule, for a schedule's handler, when the stack has it.
    schedule_arn: Option<String>,
}

/// Where an account's resources are: `aws`, or the partition of a China or GovCloud region.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The function's trigger, its queue and its schedule, read from the stage's template as
/// deployed, with the resources' physical IDs.
fn target(
    template: &Value,
    physical: &std::collections::HashMap<String, String>,
    function: Function,
    stack: &str,
    session: &Session,
) -> Result<Target> {
    let empty = serde_json::Map::new();
    let resources = template["Resources"].as_object().unwrap_or(&empty);
    let (logical, resource) = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .find(|(_, r)| {
            r["Properties"]["Environment"]["Variables"]["EVENTFN_HANDLER"] == *function.handler
        })
        .ok_or_else(|| anyhow!("the stack has no function of `{}`", function.handler))?;
    let description = resource["Properties"]["Description"]
        .as_str()
        .unwrap_or_default();
    let trigger = parse_trigger(description).ok_or_else(|| {
        anyhow!(
            "the function `{}` of `{}` does not say what triggers it (its description is `{}`); \
             was the stage deployed by this version of cargo eventfn?",
            function.name,
            function.handler,
            eventfn_core::quote::excerpt(description)
        )
    })?;
    let arn = |service: &str, rest: &str| {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            partition(&session.region),
            session.region,
            session.account
        )
    };
    // The queue its event source mapping reads: `{"Fn::GetAtt": [Q, "Arn"]}`, whose physical ID
    // is the queue's URL, ending in its name.
    let queue_arn = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::EventSourceMapping")
        .find(|r| r["Properties"]["FunctionName"]["Ref"] == **logical)
        .and_then(|r| {
            let source = &r["Properties"]["EventSourceArn"];
            source["Fn::GetAtt"][0].as_str().or(source["Ref"].as_str())
        })
        .and_then(|queue| physical.get(queue))
        .and_then(|url| url.rsplit('/').next())
        .map(|name| arn("sqs", name));
    let schedule_arn = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Scheduler::Schedule")
        .find(|(_, r)| {
            r["Properties"]["Description"]
                .as_str()
                .is_some_and(|d| d.ends_with(&format!(" of `{}`", function.handler)))
        })
        .and_then(|(id, _)| physical.get(id))
        .map(|name| arn("scheduler", &format!("schedule/{stack}/{name}")));
    Ok(Target {
        function,
        trigger,
        queue_arn,
        schedule_arn,
    })
}

/// `event `account-signup`: welcome::audit` → event, `account-signup`.
fn parse_trigger(description: &str) -> Option<Trigger> {
    let (kind, rest) = description.split_once(" `")?;
    let (name, _) = rest.split_once("`: ")?;
    Some(Trigger {
        kind: Kind::parse(kind)?,
        name: name.to_owned(),
    })
}

/// RFC 3339 in UTC, to the second, as SQS and EventBridge write times.
fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What the caller gave for the event: the payload (or detail), and a rule's type and source.
struct Given<'a> {
    json: Option<&'a str>,
    detail_type: Option<&'a str>,
    source: Option<&'a str>,
}

/// The SQS batch of one record that the function's queue would hand it for `given`, with the
/// message ID `id`, at `now` (ms since the epoch).
fn event(
    target: &Target,
    given: &Given<'_>,
    id: &str,
    now: u64,
    session: &Session,
) -> Result<Value> {
    let Trigger { kind, name } = &target.trigger;
    let handler = &target.function.handler;
    if *kind != Kind::Rule && (given.detail_type.is_some() || given.source.is_some()) {
        bail!(
            "--detail-type and --source are for a rule's handler; `{handler}` is of {} `{name}`",
            kind.as_str()
        );
    }
    // The JSON given, trimmed and checked; sent as written (its keys and numbers as typed).
    let json = |what: &str| -> Result<String> {
        let Some(text) = given.json else {
            bail!(
                "the {what} is missing: `cargo eventfn invoke --stage NAME {handler} JSON` (or `-` \
                 to read it from stdin)"
            );
        };
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| anyhow!("cannot invoke `{handler}`: the {what} is not JSON: {e}"))?;
        Ok(text.trim().to_owned())
    };
    let eventbridge = |detail_type: &str, source: &str, resources: Vec<&str>, detail: Value| {
        json!({
            "version": "0",
            "id": id,
            "detail-type": detail_type,
            "source": source,
            "account": session.account,
            "time": rfc3339(now),
            "region": session.region,
            "resources": resources,
            "detail": detail,
        })
        .to_string()
    };
    let string = |value: &str| json!({ "stringValue": value, "dataType": "String" });
    let number = |value: u64| json!({ "stringValue": value.to_string(), "dataType": "Number" });
    let (body, attributes) = match kind {
        Kind::Event | Kind::Queue => (
            json(if *kind == Kind::Event {
                "payload"
            } else {
                "job"
            })?,
            json!({
                eventfn::aws::NAME_ATTRIBUTE: string(name),
                eventfn::aws::TIME_ATTRIBUTE: number(now),
            }),
        ),
        Kind::Schedule => {
            if given.json.is_some() {
                bail!(
                    "`{handler}` is the handler of schedule `{name}`, which takes no payload: \
                     leave out the JSON"
                );
            }
            let resources = target.schedule_arn.iter().map(String::as_str).collect();
            (
                eventbridge("Scheduled Event", "aws.scheduler", resources, json!({})),
                json!({}),
            )
        }
        Kind::Rule => {
            let Some(detail_type) = given.detail_type else {
                bail!(
                    "`{handler}` is the handler of rule `{name}`: give the event's --detail-type \
                     (and --source, `{}` when not given); the JSON is its detail",
                    eventfn_core::pattern::DEFAULT_SOURCE
                );
            };
            let detail = json("detail")?;
            let source = given
                .source
                .unwrap_or(eventfn_core::pattern::DEFAULT_SOURCE);
            eventfn_core::pattern::check_entry(source, detail_type, &detail, true)
                .map_err(|e| anyhow!("cannot invoke `{handler}`: {e}"))?;
            let detail: Value = serde_json::from_str(&detail)?;
            (
                eventbridge(detail_type, source, Vec::new(), detail),
                json!({}),
            )
        }
    };
    let mut attributes_of_sqs = json!({
        "ApproximateReceiveCount": "1",
        "SentTimestamp": now.to_string(),
        "ApproximateFirstReceiveTimestamp": now.to_string(),
        "SenderId": "cargo-eventfn-invoke",
    });
    let fifo = target
        .queue_arn
        .as_deref()
        .is_some_and(|arn| arn.ends_with(".fifo"));
    if fifo {
        attributes_of_sqs["MessageGroupId"] = json!(name);
        attributes_of_sqs["MessageDeduplicationId"] = json!(id);
        attributes_of_sqs["SequenceNumber"] = json!("1");
    }
    Ok(json!({
        "Records": [{
            "messageId": id,
            "body": body,
            "attributes": attributes_of_sqs,
            "messageAttributes": attributes,
            "eventSource": "aws:sqs",
            "eventSourceARN": target.queue_arn,
            "awsRegion": session.region,
        }]
    }))
}

/// What came of an invoke, read from Lambda's answer.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Answer {
    /// - `ok`: its attempt line says it succeeded;
    /// - `failed`: it failed, and the function reported the record back to its queue (to be
    ///   retried, but an invoke's message is on no queue);
    /// - `dead`: it failed, and the function sent it to the handler's dead letters;
    /// - `unconfirmed`: the function reported no failure, but no attempt line of it came back
    ///   (no log tail, or one that cut it off), so a failure sent to the dead letters, which the
    ///   batch response does not report, cannot be ruled out;
    /// - `error`: the function itself failed (it did not start, or stopped before it answered).
    result: &'static str,
    /// The runtime's attempt line from the log tail, when it came back.
    attempt: Option<Attempt>,
    /// The lines the handler printed during the attempt, from the log tail.
    output: Vec<String>,
    /// The function's error (`errorType: errorMessage`), for `error`.
    error: Option<String>,
    /// Lambda's answer as it came.
    response: Value,
}

/// Reads Lambda's answer: `function_error` (`X-Amz-Function-Error`), the payload, and the log
/// tail (decoded), for the record `id`.
fn read_answer(
    function_error: Option<&str>,
    payload: &[u8],
    tail: Option<&str>,
    id: &str,
) -> Answer {
    let response: Value = serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
    let mut output = Vec::new();
    let mut attempt = None;
    for line in tail.unwrap_or_default().lines() {
        if crate::logs::lambdas_own(line) {
            continue;
        }
        match Attempt::parse(line).filter(|a| a.id == id) {
            Some(found) => attempt = Some(found),
            // The tail is the log's last 4 KB: what came before the attempt line is its output.
            None if attempt.is_none() => output.push(line.to_owned()),
            None => {}
        }
    }
    if attempt.is_none() {
        // Without its attempt line, the lines are not known to be its output.
        output.clear();
    }
    let mut answer = Answer {
        result: "unconfirmed",
        attempt,
        output,
        error: None,
        response,
    };
    if function_error.is_some() {
        let error = match (
            &answer.response["errorType"],
            &answer.response["errorMessage"],
        ) {
            (Value::String(kind), Value::String(message)) => format!("{kind}: {message}"),
            _ => answer.response.to_string(),
        };
        answer.result = "error";
        answer.error = Some(error);
        return answer;
    }
    let reported = answer.response["batchItemFailures"]
        .as_array()
        .is_some_and(|failures| failures.iter().any(|f| f["itemIdentifier"] == id));
    answer.result = match answer.attempt.as_ref().map(|a| a.outcome) {
        _ if reported => "failed",
        Some(Outcome::Ok) => "ok",
        Some(Outcome::Retry) => "failed",
        // Sent to the dead letters: when that send fails, the record is reported instead.
        Some(Outcome::Dead) => "dead",
        None => "unconfirmed",
    };
    answer
}

/// `cargo eventfn invoke --stage NAME HANDLER [JSON]`.
pub fn invoke(shell: &Shell, args: &InvokeArgs) -> Result<()> {
    let Some(name) = &args.out.stage.stage else {
        bail!(
            "`invoke` calls a handler of a deployed stage: add --stage NAME (in the sandbox, \
             `cargo eventfn publish` and `cargo eventfn trigger` reach a handler)"
        );
    };
    let json = args
        .json
        .as_deref()
        .map(crate::sandbox::json_argument)
        .transpose()?;
    let given = Given {
        json: json.as_deref(),
        detail_type: args.detail_type.as_deref(),
        source: args.source.as_deref(),
    };
    let answer = runtime()?.block_on(async {
        let (session, stack_name) = open_stack(&args.out.stage, name).await?;
        let cf = session.cloudformation();
        let deployed = stack::deployed_app(&session, &cf, &stack_name).await?;
        let mut all = crate::logs::functions(&deployed.template, &deployed.physical);
        // The delay function forwards delayed messages; it has no handler to call.
        all.retain(|f| f.handler != eventfn_core::delay::DELAYED_HANDLER);
        let mut chosen = crate::logs::select(all, std::slice::from_ref(&args.handler))?;
        if chosen.len() > 1 {
            let paths: Vec<String> = chosen.iter().map(|f| format!("`{}`", f.handler)).collect();
            bail!(
                "`{}` names {} handlers of this stage: {}; give its whole path",
                eventfn_core::quote::excerpt(&args.handler),
                chosen.len(),
                paths.join(", ")
            );
        }
        let function = chosen
            .pop()
            .ok_or_else(|| anyhow!("the stage has no handler `{}`", args.handler))?;
        let target = target(
            &deployed.template,
            &deployed.physical,
            function,
            &stack_name,
            &session,
        )?;
        let now = now_ms();
        let id = invoke_id();
        let event = event(&target, &given, &id, now, &session)?;
        let Trigger {
            kind,
            name: trigger,
        } = &target.trigger;
        shell.status(
            "Invoking",
            format!(
                "`{}` ({} `{trigger}`) of stage `{name}`: function `{}` (stack `{stack_name}`, \
                 account {}, {})",
                target.function.handler,
                kind.as_str(),
                target.function.name,
                session.account,
                session.service_endpoint_name("LAMBDA")
            ),
        );
        // Not retried by the SDK: a retry after a timeout or a 5xx would run the handler again.
        let lambda = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&session.config)
                .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
                .build(),
        );
        let answer = lambda
            .invoke()
            .function_name(&target.function.name)
            .invocation_type(InvocationType::RequestResponse)
            .log_type(LogType::Tail)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .map_err(|e| {
                session.explain_service(
                    &format!(
                        "could not invoke the function `{}` (lambda:InvokeFunction)",
                        target.function.name
                    ),
                    Some("LAMBDA"),
                    e,
                )
            })?;
        let tail = answer
            .log_result()
            .and_then(|text| aws_smithy_types::base64::decode(text).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        let payload = answer.payload().map(|p| p.as_ref()).unwrap_or_default();
        let read = read_answer(answer.function_error(), payload, tail.as_deref(), &id);
        Ok::<_, anyhow::Error>((read, target, tail.is_some(), name.clone()))
    })?;
    let (read, target, had_tail, stage) = answer;
    report(
        shell,
        args.out.message_format,
        &read,
        &target,
        had_tail,
        &stage,
    )
}

/// The ID of an invoke's message: `invoke-` and the time in microseconds, so that it is unique
/// per call and recognisable in the function's log.
fn invoke_id() -> String {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    format!("invoke-{micros}")
}

/// Prints what came of it; an error when it did not succeed.
fn report(
    shell: &Shell,
    format: MessageFormat,
    read: &Answer,
    target: &Target,
    had_tail: bool,
    stage: &str,
) -> Result<()> {
    let handler = &target.function.handler;
    match format {
        MessageFormat::Json => println!("{}", serde_json::to_string(read).unwrap_or_default()),
        MessageFormat::Human => {
            if let Some(attempt) = &read.attempt {
                let color = anstream::AutoStream::choice(&std::io::stdout())
                    != anstream::ColorChoice::Never;
                let clock = crate::logs::clock(attempt.time);
                let ids = format!("event {}", attempt.id);
                print!(
                    "{}",
                    eventfn_core::attempt::render(
                        &attempt.view(&clock, &ids),
                        eventfn_core::attempt::Paint { color }
                    )
                );
            }
            for line in &read.output {
                println!("    {line}");
            }
        }
    }
    let logs = format!("`cargo eventfn logs --stage {stage} {handler}`");
    let why = || {
        read.attempt
            .as_ref()
            .and_then(|a| a.error.as_deref())
            .map_or_else(
                || format!("see its attempt with {logs}"),
                |error| eventfn_core::quote::excerpt(error).into_owned(),
            )
    };
    match read.result {
        "ok" => {
            shell.status("Finished", format!("`{handler}` handled it"));
            Ok(())
        }
        "unconfirmed" => {
            let tail = if had_tail {
                "the log tail Lambda returned does not hold its attempt line"
            } else {
                "the endpoint returned no log tail"
            };
            shell.status(
                "Finished",
                format!(
                    "`{handler}` reported no failure ({tail}, so only the function's answer is \
                     known: see its attempt with {logs})"
                ),
            );
            Ok(())
        }
        "dead" => bail!(
            "`{handler}` failed: {}\n\nIt went to the handler's dead letters, as a delivery's \
             would: `cargo eventfn events --stage {stage} --dead` lists them",
            why()
        ),
        "failed" => {
            let lost = read
                .attempt
                .as_ref()
                .is_some_and(|a| a.outcome == Outcome::Dead);
            bail!(
                "`{handler}` failed: {}\n\n{}",
                why(),
                if lost {
                    "It was to go to the handler's dead letters, but the function could not send \
                     it there (its log says why); an invoke's message is on no queue, so nothing \
                     will retry it"
                } else {
                    "A delivery would be retried; an invoke is not (its message is on no queue)"
                }
            )
        }
        _ => bail!(
            "the function `{}` failed: {}",
            target.function.name,
            read.error.as_deref().unwrap_or("no error given")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            config: aws_config::SdkConfig::builder().build(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            endpoint: None,
            endpoint_from_flag: false,
        }
    }

    fn target(kind: Kind, name: &str, queue: &str) -> Target {
        Target {
            function: Function {
                handler: "app::f".into(),
                name: "AppStaging-F".into(),
                group: "/aws/lambda/AppStaging-F".into(),
            },
            trigger: Trigger {
                kind,
                name: name.into(),
            },
            queue_arn: Some(format!("arn:aws:sqs:eu-west-1:123456789012:{queue}")),
            schedule_arn: Some("arn:aws:scheduler:eu-west-1:123456789012:schedule/S/x".into()),
        }
    }

    fn given(json: Option<&str>) -> Given<'_> {
        Given {
            json,
            detail_type: None,
            source: None,
        }
    }

    #[test]
    fn a_trigger_is_read_from_the_functions_description() {
        assert_eq!(
            parse_trigger("event `account-signup`: welcome::audit"),
            Some(Trigger {
                kind: Kind::Event,
                name: "account-signup".into()
            })
        );
        assert_eq!(
            parse_trigger("schedule `noon-report`: welcome::noon_report").map(|t| t.kind),
            Some(Kind::Schedule)
        );
        assert_eq!(parse_trigger("eventfn: sends delayed events"), None);
        assert_eq!(parse_trigger("lambda `x`: y"), None);
    }

    #[test]
    fn an_events_record_holds_the_payload_as_written_with_its_name() {
        let t = target(Kind::Event, "signup", "AppStaging-F");
        let body = r#" {"n": 1.50, "b": 1, "a": 2} "#;
        let event = event(&t, &given(Some(body)), "invoke-1", 1_000, &session()).unwrap();
        let record = &event["Records"][0];
        assert_eq!(record["body"], r#"{"n": 1.50, "b": 1, "a": 2}"#);
        assert_eq!(record["messageId"], "invoke-1");
        assert_eq!(
            record["messageAttributes"]["eventfn.name"]["stringValue"],
            "signup"
        );
        assert_eq!(
            record["messageAttributes"]["eventfn.time"]["stringValue"],
            "1000"
        );
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(
            record["eventSourceARN"],
            "arn:aws:sqs:eu-west-1:123456789012:AppStaging-F"
        );
        assert_eq!(record["attributes"].get("MessageGroupId"), None);
        // The runtime reads it as an SQS batch of one, as Lambda's event source mapping sends.
        let incoming = eventfn::lambda::Incoming::from_slice(event.to_string().as_bytes());
        let eventfn::lambda::Incoming::Sqs(records) = incoming else {
            panic!("not an SQS batch: {incoming:?}");
        };
        let [Ok(read)] = &records[..] else {
            panic!("not one readable record: {records:?}");
        };
        assert_eq!(read.body.as_deref(), Some(r#"{"n": 1.50, "b": 1, "a": 2}"#));
        assert_eq!(
            read.message_attributes["eventfn.name"]
                .string_value
                .as_deref(),
            Some("signup")
        );
        assert_eq!(read.attributes["ApproximateReceiveCount"], "1");
    }

    #[test]
    fn a_fifo_queues_record_has_a_group() {
        let t = target(Kind::Queue, "orders.fifo", "AppStaging-Orders.fifo");
        let event = event(&t, &given(Some("{}")), "invoke-1", 1_000, &session()).unwrap();
        assert_eq!(
            event["Records"][0]["attributes"]["MessageGroupId"],
            "orders.fifo"
        );
    }

    #[test]
    fn a_schedules_record_is_schedulers_event_and_takes_no_payload() {
        let t = target(Kind::Schedule, "nightly", "AppStaging-Nightly");
        let event = event(&t, &given(None), "invoke-1", 0, &session()).unwrap();
        let body: Value =
            serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["detail-type"], "Scheduled Event");
        assert_eq!(body["source"], "aws.scheduler");
        assert_eq!(body["time"], "1970-01-01T00:00:00Z");
        assert_eq!(body["account"], "123456789012");
        assert_eq!(
            body["resources"][0],
            "arn:aws:scheduler:eu-west-1:123456789012:schedule/S/x"
        );
        assert_eq!(event["Records"][0]["messageAttributes"], json!({}));
        let err = super::event(&t, &given(Some("{}")), "i", 0, &session()).unwrap_err();
        assert!(err.to_string().contains("takes no payload"), "{err}");
    }

    #[test]
    fn a_rules_record_is_an_eventbridge_event_with_the_json_as_its_detail() {
        let t = target(Kind::Rule, "uploads", "AppStaging-Uploads");
        let mut g = given(Some(r#"{"bucket": {"name": "u"}}"#));
        let err = event(&t, &g, "i", 0, &session()).unwrap_err();
        assert!(err.to_string().contains("--detail-type"), "{err}");
        g.detail_type = Some("Object Created");
        g.source = Some("aws.s3");
        let event = event(&t, &g, "i", 0, &session()).unwrap();
        let body: Value =
            serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["detail-type"], "Object Created");
        assert_eq!(body["source"], "aws.s3");
        assert_eq!(body["detail"]["bucket"]["name"], "u");
    }

    #[test]
    fn bad_json_and_misplaced_options_are_named() {
        let t = target(Kind::Event, "signup", "q");
        let err = event(&t, &given(Some("{nope")), "i", 0, &session()).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "cannot invoke `app::f`: the payload is not JSON: key must be a string"
            ),
            "{err}"
        );
        let err = event(&t, &given(None), "i", 0, &session()).unwrap_err();
        assert!(
            err.to_string().starts_with("the payload is missing"),
            "{err}"
        );
        let mut g = given(Some("{}"));
        g.detail_type = Some("X");
        let err = event(&t, &g, "i", 0, &session()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--detail-type and --source are for a rule's handler; `app::f` is of event `signup`"
        );
    }

    #[test]
    fn the_answer_is_read_from_the_batch_response_and_the_log_tail() {
        const NO_FAILURES: &[u8] = br#"{"batchItemFailures":[]}"#;
        let line = |outcome: &str, error: &str| {
            format!(
                r#"{{"eventfn":"attempt","time":1,"kind":"event","name":"e","handler":"app::f","id":"invoke-7","attempt":1,"durationUs":5,"outcome":"{outcome}"{error}}}"#
            )
        };
        let tail = format!(
            "START RequestId: r Version: $LATEST\nhello from f\n{}\nEND RequestId: r\nREPORT RequestId: r\n",
            line("ok", "")
        );
        let ok = read_answer(None, NO_FAILURES, Some(&tail), "invoke-7");
        assert_eq!(ok.result, "ok");
        assert_eq!(ok.output, ["hello from f"]);
        assert_eq!(ok.attempt.unwrap().outcome, Outcome::Ok);

        // Sent to the dead letters: not in the batch response, but its attempt line says so.
        let dead_line = line("dead", r#","error":"bad payload""#);
        let dead = read_answer(None, NO_FAILURES, Some(&dead_line), "invoke-7");
        assert_eq!(dead.result, "dead");
        assert_eq!(dead.attempt.unwrap().error.as_deref(), Some("bad payload"));
        // ... unless the send there failed: then the record is reported back.
        let failures = br#"{"batchItemFailures":[{"itemIdentifier":"invoke-7"}]}"#;
        let lost = read_answer(None, failures, Some(&dead_line), "invoke-7");
        assert_eq!(lost.result, "failed");

        assert_eq!(
            read_answer(None, failures, None, "invoke-7").result,
            "failed"
        );
        // No attempt line: no tail, or one that cut it off (another id's line is not its own).
        for tail in [None, Some("cut off\n"), Some(&*tail)] {
            let read = read_answer(None, NO_FAILURES, tail, "invoke-8");
            assert_eq!((read.result, read.output.len()), ("unconfirmed", 0));
        }

        let error = br#"{"errorType":"eventfn.Init","errorMessage":"no handler"}"#;
        let read = read_answer(Some("Unhandled"), error, None, "invoke-7");
        assert_eq!(read.result, "error");
        assert_eq!(read.error.as_deref(), Some("eventfn.Init: no handler"));
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }
}
