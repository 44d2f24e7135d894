//! End to end against moto server (installed by `scripts/setup`, one per test on a free loopback
//! port): `cargo eventfn deploy` and `cargo eventfn destroy` on `examples/welcome` and
//! `tests/fixtures/deploy-app` (app `shop`).
//!
//! moto reports some resource types as created without creating them (SNS subscriptions, SQS
//! queue policies): the tests assert on what the services hold, not on the stack status alone.

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use serde_json::{Value, json};
use support::*;

/// Deploys build the same fixture with and without a feature: one at a time, so no build
/// overwrites the binary another is reading.
static DEPLOYS: Mutex<()> = Mutex::new(());

/// Resource types moto accepts in a template but does not create.
const SKIPPED_BY_MOTO: [&str; 4] = [
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::Scheduler::Schedule",
];

/// `cargo eventfn <args>` against `moto`, with test credentials and nothing from the host's AWS
/// configuration.
///
/// A deploy is of a debug build (`--debug`): moto takes any size, and the tests build debug.
fn run(moto: &Moto, args: &[&str]) -> Output {
    run_with(moto, args, &[])
}

/// [`run`], with more environment.
fn run_with(moto: &Moto, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let _one_at_a_time = DEPLOYS.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = args.to_vec();
    if args.first() == Some(&"deploy") && !args.contains(&"--help") {
        args.insert(1, "--debug");
    }
    let args = &args[..];
    let mut command = command(args);
    command
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // The generated app of `write_large_app` builds into the shared target dir too.
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(envs.iter().copied());
    logged(command, args)
}

/// A deploy that succeeds, with its JSON summary.
fn deploy(moto: &Moto, args: &[&str]) -> Value {
    let mut all = vec!["deploy", "--message-format", "json"];
    all.extend_from_slice(args);
    let output = run(moto, &all);
    assert!(output.status.success(), "deploy {args:?} failed");
    serde_json::from_slice(&output.stdout).expect("deploy prints JSON")
}

fn failure(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "expected exit code 1");
    stderr(output)
}

fn cloudformation(config: &aws_config::SdkConfig) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(config)
}

/// The stack's status, or `None` when there is no such live stack.
async fn status(cf: &aws_sdk_cloudformation::Client, stack: &str) -> Option<String> {
    let output = cf.describe_stacks().stack_name(stack).send().await.ok()?;
    let status = output.stacks()[0].stack_status()?.as_str().to_owned();
    (status != "DELETE_COMPLETE").then_some(status)
}

async fn event_count(cf: &aws_sdk_cloudformation::Client, stack: &str) -> usize {
    cf.describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_events()
        .len()
}

/// The templates of the last build of `app`, as one.
fn template(app: &str) -> Value {
    flat_of(&built_template_paths(app))
}

/// The nested stack of the last build of `app` that holds `resource`.
fn group_of(app: &str, resource: &str) -> String {
    built_template_paths(app)[1..]
        .iter()
        .find(|path| {
            let template: Value = serde_json::from_str(&read(path)).unwrap();
            template["Resources"].get(resource).is_some()
        })
        .map(|path| path.file_stem().unwrap().to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no nested stack of `{app}` holds {resource}"))
}

fn changes(summary: &Value) -> BTreeSet<(String, String)> {
    summary["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["logical_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn welcome_deploys_its_topics_deliver_and_destroy_removes_it() {
    let moto = Moto::start();
    let config = moto.config().await;
    let cf = cloudformation(&config);

    let summary = deploy(&moto, &["-p", "welcome"]);
    assert_eq!(summary["result"], "created");
    assert_eq!(summary["stack"], "WelcomeStaging");
    assert_eq!(summary["code"]["uploaded"], true);
    assert_eq!(
        status(&cf, "WelcomeStaging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    // Every resource of the template is in the stack, but those moto skips.
    let template = template("welcome");
    let expected: BTreeSet<String> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| !SKIPPED_BY_MOTO.contains(&r["Type"].as_str().unwrap()))
        .map(|(id, _)| id.clone())
        .collect();
    let stacks = all_resources(&cf, "WelcomeStaging").await;
    let nested: BTreeSet<&String> = stacks.keys().filter(|s| !s.is_empty()).collect();
    assert_eq!(
        nested.len(),
        5,
        "a nested stack per group its six handlers hash to"
    );
    let deployed: BTreeSet<String> = stacks
        .values()
        .flat_map(|r| r.keys())
        .filter(|id| !nested.contains(id))
        .cloned()
        .collect();
    assert_eq!(deployed, expected);
    assert_eq!(
        expected.len(),
        52,
        "welcome's 61 resources, less 3 subscriptions, 3 queue policies, the schedule group and \
         its 2 schedules"
    );

    // Every topic, queue and function is printed, with its address.
    let outputs = summary["outputs"].as_object().unwrap();
    let output_keys: BTreeSet<&String> = outputs.keys().collect();
    // The templates' outputs (functions, dead letters), and the topics and app queues.
    let mut listed: BTreeSet<&String> = template["Outputs"].as_object().unwrap().keys().collect();
    for (id, resource) in template["Resources"].as_object().unwrap() {
        let kind = resource["Type"].as_str().unwrap();
        if kind == "AWS::SNS::Topic" || (kind == "AWS::SQS::Queue" && id.starts_with("Queue")) {
            listed.insert(id);
        }
    }
    assert_eq!(output_keys, listed);
    assert_eq!(
        outputs["HandlerSendWelcomeFunction"],
        "WelcomeStaging-SendWelcome"
    );

    // Publishers find the topics and queues through SSM, as the runtime does.
    let ssm = aws_sdk_ssm::Client::new(&config);
    for (path, output) in [
        (
            "/WelcomeStaging/events/account-signup",
            "EventAccountSignupTopic",
        ),
        (
            "/WelcomeStaging/events/account-check-email",
            "EventAccountCheckEmailTopic",
        ),
        ("/WelcomeStaging/queues/thumbnails", "QueueThumbnails"),
    ] {
        let parameter = ssm.get_parameter().name(path).send().await.unwrap();
        assert_eq!(
            parameter.parameter().unwrap().value().unwrap(),
            outputs[output].as_str().unwrap(),
            "{path}"
        );
    }

    // A message published to the deployed topic reaches a queue subscribed to it.
    let topic = outputs["EventAccountSignupTopic"].as_str().unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let probe = sqs.create_queue().queue_name("probe").send().await.unwrap();
    let probe_url = probe.queue_url().unwrap();
    let probe_arn = "arn:aws:sqs:us-east-1:123456789012:probe";
    sns.subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(probe_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    // `logs --stage`: a function's log as the runtime writes it, shown as the sandbox's log.
    // Before anything reaches the queues: moto's event source mappings then invoke functions,
    // and moto, without docker, logs that it could not with a timestamp the SDK cannot read (a
    // float), which `logs` warns of.
    check_logs(&moto, &config, &cf).await;
    check_invoke(&moto, &cf).await;

    // Published by `publish --stage`, through the runtime's own publishing: the topic found
    // through SSM, the payload sent as written, with the attributes a handler reads.
    let publish = |args: &[&str]| {
        let mut all = vec!["publish", "-p", "welcome", "--stage", "staging"];
        all.extend_from_slice(args);
        let output = run(&moto, &all);
        assert!(output.status.success(), "{}", stderr(&output));
        output
    };
    let published = publish(&[
        "account-signup",
        r#"{"email": "ada@example.com", "n": 1.50}"#,
    ]);
    let said = String::from_utf8_lossy(&published.stderr);
    assert!(
        said.contains("Published event `account-signup` into stage `staging` (stack `WelcomeStaging`, account 123456789012"),
        "{said}"
    );
    let received = sqs
        .receive_message()
        .queue_url(probe_url)
        .message_attribute_names("All")
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let message = &received.messages()[0];
    assert_eq!(
        message.body(),
        Some(r#"{"email": "ada@example.com", "n": 1.50}"#)
    );
    let attributes = message.message_attributes().unwrap();
    assert_eq!(
        attributes["eventfn.name"].string_value(),
        Some("account-signup")
    );
    // A queue job, into the queue's own SQS queue.
    publish(&[
        "--queue",
        "thumbnails",
        r#"{"bucket":"b","key":"k.png","width":64}"#,
    ]);
    let jobs = sqs
        .receive_message()
        .queue_url(outputs["QueueThumbnails"].as_str().unwrap())
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        jobs.messages()[0].body(),
        Some(r#"{"bucket":"b","key":"k.png","width":64}"#)
    );
    // What the stage does not have, and a stage not deployed, are named.
    for (args, expected) in [
        (
            ["--stage", "staging", "account-closed"],
            "stage `staging` (stack `WelcomeStaging`, account 123456789012, ",
        ),
        (
            ["--stage", "staging", "account-closed"],
            "unknown event `account-closed`: it is not in EVENTFN_TOPICS, and SSM parameter `/WelcomeStaging/events/account-closed`",
        ),
        (
            ["--stage", "prod", "account-signup"],
            "there is no stack `WelcomeProd` (app `welcome`, stage `prod`)",
        ),
    ] {
        let mut all = vec!["publish", "-p", "welcome"];
        all.extend(args);
        all.push("{}");
        let refused = run(&moto, &all);
        assert!(!refused.status.success());
        let said = failure(&refused);
        assert!(said.contains(expected), "{said}");
    }
    assert!(
        failure(&run(
            &moto,
            &["publish", "-p", "welcome", "account-signup", "{}"]
        ))
        .contains("-p/--package applies only to a deployed stage")
    );

    // Unchanged: nothing uploaded, no change set, no stack event.
    let events = event_count(&cf, "WelcomeStaging").await;
    let again = deploy(&moto, &["-p", "welcome"]);
    assert_eq!(again["result"], "unchanged");
    assert_eq!(again["code"]["uploaded"], false);
    assert_eq!(again["outputs"], summary["outputs"]);
    assert_eq!(event_count(&cf, "WelcomeStaging").await, events);

    // Destroy asks for --yes and leaves the stack alone without it.
    let refused = failure(&run(
        &moto,
        &["destroy", "-p", "welcome", "--stage", "staging"],
    ));
    assert!(refused.contains("pass --yes"), "{refused}");
    assert!(status(&cf, "WelcomeStaging").await.is_some());

    let destroyed = run(
        &moto,
        &["destroy", "-p", "welcome", "--stage", "staging", "--yes"],
    );
    assert!(destroyed.status.success());
    let said = stderr(&destroyed);
    assert!(said.contains("Destroyed stack `WelcomeStaging`"), "{said}");
    assert!(
        said.contains(
            ": 5 AWS::CloudFormation::Stack, 1 AWS::IAM::ManagedPolicy, 10 AWS::IAM::Role"
        ),
        "{said}"
    );
    assert!(said.contains("7 AWS::Lambda::Function"), "{said}");
    let listed = String::from_utf8_lossy(&destroyed.stdout);
    assert!(
        listed.contains("HandlerSendWelcomeFunction\tAWS::Lambda::Function"),
        "{listed}"
    );
    assert_eq!(status(&cf, "WelcomeStaging").await, None);
    let sent = ssm
        .get_parameter()
        .name("/WelcomeStaging/events/account-signup")
        .send()
        .await;
    assert!(sent.is_err(), "the stack's parameters go with it");

    let again = failure(&run(
        &moto,
        &["destroy", "-p", "welcome", "--stage", "staging", "--yes"],
    ));
    assert!(
        again.contains("there is no stack `WelcomeStaging`"),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_timeout_updates_that_handler_alone() {
    let moto = Moto::start();
    let cf = cloudformation(&moto.config().await);

    let created = deploy(&moto, &["-p", "fixture-deploy-app"]);
    assert_eq!(created["result"], "created");
    assert_eq!(created["stack"], "ShopStaging");
    let events = event_count(&cf, "ShopStaging").await;

    // The handler's function and the visibility timeout of its queue (6 × the timeout), in the
    // nested stack that holds them.
    let group = group_of("shop", "HandlerNotifyWarehouseFunction");
    let expected = BTreeSet::from([
        ("Modify".to_owned(), group.clone()),
        (
            "Modify".to_owned(),
            format!("{group}/HandlerNotifyWarehouseFunction"),
        ),
        (
            "Modify".to_owned(),
            format!("{group}/HandlerNotifyWarehouseQueue"),
        ),
    ]);
    let dry = deploy(
        &moto,
        &["-p", "fixture-deploy-app", "-F", "slower", "--dry-run"],
    );
    assert_eq!(dry["result"], "dry-run");
    assert_eq!(changes(&dry), expected);
    assert_eq!(
        event_count(&cf, "ShopStaging").await,
        events,
        "a dry run executes nothing"
    );

    let updated = deploy(&moto, &["-p", "fixture-deploy-app", "-F", "slower"]);
    assert_eq!(updated["result"], "updated");
    assert_eq!(changes(&updated), expected);
    // As deployed: the nested stack's template.
    let nested = physical_id(&cf, "ShopStaging", &group).await;
    let deployed = cf.get_template().stack_name(nested).send().await.unwrap();
    let deployed: Value = serde_json::from_str(deployed.template_body().unwrap()).unwrap();
    let function = &deployed["Resources"]["HandlerNotifyWarehouseFunction"]["Properties"];
    assert_eq!(function["Timeout"], 20);
    let record = group_of("shop", "HandlerRecordOrderFunction");
    let nested = physical_id(&cf, "ShopStaging", &record).await;
    let deployed = cf.get_template().stack_name(nested).send().await.unwrap();
    let deployed: Value = serde_json::from_str(deployed.template_body().unwrap()).unwrap();
    assert_eq!(
        deployed["Resources"]["HandlerRecordOrderFunction"]["Properties"]["Timeout"],
        5
    );

    let unchanged = deploy(&moto, &["-p", "fixture-deploy-app", "-F", "slower"]);
    assert_eq!(unchanged["result"], "unchanged");
}

#[tokio::test(flavor = "multi_thread")]
async fn names_already_taken_stop_the_deploy_naming_the_resource() {
    let moto = Moto::start();
    let config = moto.config().await;
    let cf = cloudformation(&config);
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name("/ShopBroken/events/order-placed")
        .value("left over")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    let err = failure(&run(
        &moto,
        &["deploy", "-p", "fixture-deploy-app", "--stage", "broken"],
    ));
    assert!(
        err.contains(
            "EventOrderPlacedParameter (AWS::SSM::Parameter): `/ShopBroken/events/order-placed` \
             already exists outside the stack"
        ),
        "{err}"
    );
    assert!(err.contains("stopped before any change"), "{err}");
    assert_eq!(status(&cf, "ShopBroken").await, None, "no stack is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_anything_is_deployed() {
    let moto = Moto::start();
    let cf = cloudformation(&moto.config().await);

    let closed = format!("http://127.0.0.1:{}", free_port());
    let refused = [
        (
            vec!["--stage", "my_stage"],
            "invalid stage `my_stage`: `_` is not allowed".to_owned(),
        ),
        (
            vec!["--endpoint-url", "localhost:4566"],
            "invalid endpoint URL `localhost:4566`".to_owned(),
        ),
        (
            vec!["--endpoint-url", &closed],
            format!("could not reach {closed}"),
        ),
        (
            vec!["--region", "Mars"],
            "invalid AWS region `Mars`".to_owned(),
        ),
    ];
    for (extra, expected) in refused {
        let mut args = vec!["deploy", "-p", "fixture-deploy-app"];
        args.extend(extra);
        let err = failure(&run(&moto, &args));
        assert!(err.contains(&expected), "{err}");
    }

    let home = std::env::temp_dir().join(format!("eventfn-no-credentials-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let args = ["deploy", "-p", "fixture-deploy-app"];
    let mut command = command(&args);
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &moto.endpoint);
    let err = failure(&logged(command, &args));
    assert!(err.contains("no AWS credentials"), "{err}");
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");

    // A dry run of a new stage: the changes, and nothing left behind.
    let dry = deploy(&moto, &["-p", "fixture-deploy-app", "--dry-run"]);
    assert_eq!(dry["result"], "dry-run");
    let added = changes(&dry);
    assert!(added.iter().all(|(action, _)| action == "Add"), "{added:?}");
    assert!(
        added
            .iter()
            .any(|(_, id)| id.ends_with("/HandlerPrintReceiptFunction")),
        "{added:?}"
    );

    assert_eq!(status(&cf, "ShopStaging").await, None);
    // The nested stacks' templates are uploaded for CloudFormation to read; the code is not.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.config().await)
            .force_path_style(true)
            .build(),
    );
    let listed = s3
        .list_objects_v2()
        .bucket("eventfn-deploy-123456789012-us-east-1")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(!keys.is_empty(), "the nested stacks' templates");
    assert!(
        keys.iter().all(|k| k.starts_with("shop/stacks/Handlers")),
        "{keys:?}"
    );
}

/// The physical id (a queue's URL) of a resource of the stack or of its nested stacks.
/// Writes the audit function's log as the runtime and Lambda write it, and reads it back with
/// `logs --stage staging`: each attempt with the lines printed before it beneath it, Lambda's own
/// lines left out, by handler, time, text and as JSON.
async fn check_logs(
    moto: &Moto,
    config: &aws_config::SdkConfig,
    cf: &aws_sdk_cloudformation::Client,
) {
    use eventfn_core::attempt::{ATTEMPT, Attempt, Outcome};
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let function = physical_id(cf, "WelcomeStaging", "HandlerAuditFunction").await;
    let group = format!("/aws/lambda/{function}");
    let stream = "2026/11/29/[$LATEST]0123456789abcdef";
    // The template's log group, which moto may or may not have made.
    let _ = logs.create_log_group().log_group_name(&group).send().await;
    logs.create_log_stream()
        .log_group_name(&group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let attempt = |time: i64, id: &str, outcome: Outcome, error: Option<&str>| {
        Attempt {
            eventfn: ATTEMPT.to_owned(),
            time: time as u64,
            kind: eventfn_core::Kind::Event,
            name: "account-signup".to_owned(),
            handler: "welcome::audit".to_owned(),
            id: id.to_owned(),
            attempt: if outcome == Outcome::Ok { 1 } else { 2 },
            duration_us: 1_500,
            outcome,
            error: error.map(str::to_owned),
        }
        .to_line()
    };
    let lines = [
        (now - 3_600_000, "audit: user u0 signed up".to_owned()),
        (
            now - 3_599_990,
            attempt(now - 3_600_000, "m-0", Outcome::Ok, None),
        ),
        (
            now - 3_000,
            "START RequestId: r1 Version: $LATEST".to_owned(),
        ),
        (now - 2_990, "audit: user u1 signed up".to_owned()),
        (now - 2_980, attempt(now - 2_990, "m-1", Outcome::Ok, None)),
        (now - 2_970, "END RequestId: r1".to_owned()),
        (
            now - 2_960,
            "REPORT RequestId: r1 Duration: 1.52 ms".to_owned(),
        ),
        (now - 2_000, "audit: user u2 signed up".to_owned()),
        (
            now - 1_990,
            attempt(
                now - 2_000,
                "m-2",
                Outcome::Retry,
                Some("audit log is full"),
            ),
        ),
        (now - 1_000, "audit: user u3 signing up".to_owned()),
    ];
    let mut put = logs
        .put_log_events()
        .log_group_name(&group)
        .log_stream_name(stream);
    for (time, message) in &lines {
        put = put.log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(*time)
                .message(message)
                .build()
                .unwrap(),
        );
    }
    put.send().await.unwrap();

    let read = |args: &[&str]| {
        let mut all = vec!["logs", "-p", "welcome", "--stage", "staging"];
        all.extend_from_slice(args);
        let output = run(moto, &all);
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    let shown = read(&[]);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 7, "{shown}");
    assert!(
        lines[0]
            .ends_with(" event account-signup → welcome::audit (event m-1, attempt 1) 1.5ms ok"),
        "{shown}"
    );
    assert_eq!(lines[1], "    audit: user u1 signed up");
    assert!(
        lines[2].ends_with(
            " event account-signup → welcome::audit (event m-2, attempt 2) 1.5ms failed, to be retried"
        ),
        "{shown}"
    );
    assert_eq!(lines[3], "    error: audit log is full");
    assert_eq!(lines[4], "    audit: user u2 signed up");
    // What follows the stream's last attempt line is shown too, as such.
    assert_eq!(
        lines[5],
        format!(
            "welcome::audit ({stream}), with no attempt line after them yet (an invocation \
             running, or stopped before it ended):"
        )
    );
    assert_eq!(lines[6], "    audit: user u3 signing up");
    // Further back, the hour-old attempt too; by text, the one that names it.
    assert!(read(&["--since", "2h"]).contains("(event m-0, attempt 1)"));
    let filtered = read(&["--filter", "u2"]);
    assert!(
        filtered.contains("(event m-2") && !filtered.contains("(event m-1"),
        "{filtered}"
    );
    // Another handler has nothing of these.
    assert_eq!(read(&["send_welcome"]), "");
    let json = read(&["audit", "--message-format", "json"]);
    let objects: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 3, "{json}");
    assert_eq!(objects[2]["stream"], stream);
    assert_eq!(
        objects[2]["output"],
        serde_json::json!(["audit: user u3 signing up"])
    );
    assert_eq!(objects[0]["function"], function.as_str());
    assert_eq!(objects[1]["attempt"]["error"], "audit log is full");
    assert_eq!(
        objects[1]["output"],
        serde_json::json!(["audit: user u2 signed up"])
    );
    // What the stage has not, named with what it has.
    let refused = run(
        moto,
        &["logs", "-p", "welcome", "--stage", "staging", "nope"],
    );
    assert!(
        failure(&refused).contains("`nope` is not a handler of this stage; its handlers are: ")
    );
    let refused = run(
        moto,
        &[
            "logs", "-p", "welcome", "--stage", "staging", "--since", "soon",
        ],
    );
    assert!(failure(&refused).contains("--since `soon` is not a count and unit"));

    // `status --stage`: the stack, and per handler its trigger, the hour's attempts counted from
    // those lines (the hour-old one left out) and its dead letters.
    let output = run(
        moto,
        &[
            "status",
            "-p",
            "welcome",
            "--stage",
            "staging",
            "--message-format",
            "json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["stack"], "WelcomeStaging");
    assert_eq!(status["status"], "CREATE_COMPLETE");
    assert_eq!(status["account"], "123456789012");
    assert_eq!(status["region"], "us-east-1");
    let handlers = status["handlers"].as_array().unwrap();
    assert_eq!(
        handlers.len(),
        7,
        "six handlers and the delayed messages': {status:#}"
    );
    let audit = handlers
        .iter()
        .find(|h| h["handler"] == "welcome::audit")
        .unwrap();
    assert_eq!(audit["trigger"], "event `account-signup`");
    assert_eq!(audit["function"], function.as_str());
    assert_eq!(audit["attempts"], 2, "{audit}");
    assert_eq!(audit["failed"], 1, "{audit}");
    assert_eq!(audit["lastAttempt"], now - 2_000);
    assert_eq!(audit["deadLetters"], 0);
    let output = run(moto, &["status", "-p", "welcome", "--stage", "staging"]);
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.starts_with(
            "stage `staging`: stack `WelcomeStaging`, account 123456789012, us-east-1: \
             CREATE_COMPLETE"
        ),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("welcome::audit "))
        .unwrap();
    let last: Vec<&str> = row.split_whitespace().rev().take(3).collect();
    assert!(
        row.contains("event `account-signup`") && last == ["0", "1", "2"],
        "{table}"
    );
}

/// Functions of a stage run by the emulator of `cargo lambda watch`, under their deployed names
/// (moto makes functions but cannot run them): the emulator serves a function per binary of the
/// manifest it reads, so it reads one whose binaries are named after the functions.
struct Functions {
    port: u16,
    /// Where each function's stdout goes: `<dir>/<name>.log`.
    dir: std::path::PathBuf,
    _processes: Vec<Process>,
}

impl Functions {
    /// Runs `bootstrap` as each function of `functions` (name, handler).
    fn start(bootstrap: &std::path::Path, functions: &[(String, &str)]) -> Functions {
        let dir = tempfile_dir("invoke-emulator");
        let mut manifest = String::from(
            "[package]\nname = \"invoke-emulator\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [workspace]\n",
        );
        for (name, _) in functions {
            manifest.push_str(&format!(
                "\n[[bin]]\nname = \"{name}\"\npath = \"main.rs\"\n"
            ));
        }
        std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(dir.join("main.rs"), "fn main() {}\n").unwrap();
        let port = free_port();
        let mut processes = vec![Process(
            Command::new(venv_tool("cargo-lambda"))
                .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1"])
                .arg("-P")
                .arg(port.to_string())
                .arg("--manifest-path")
                .arg(dir.join("Cargo.toml"))
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start cargo lambda watch"),
        )];
        wait_for_port(port, "the emulator");
        for (name, handler) in functions {
            processes.push(Process(
                Command::new(bootstrap)
                    .env(
                        "AWS_LAMBDA_RUNTIME_API",
                        format!("http://127.0.0.1:{port}/.rt/{name}"),
                    )
                    .env("AWS_LAMBDA_FUNCTION_NAME", name)
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                    .env("EVENTFN_HANDLER", handler)
                    .stdout(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start the bootstrap"),
            ));
        }
        Functions {
            port,
            dir,
            _processes: processes,
        }
    }

    /// The attempt lines function `name` wrote, waiting a little for `count` of them.
    fn attempts(&self, name: &str, count: usize) -> Vec<eventfn_core::attempt::Attempt> {
        let started = std::time::Instant::now();
        loop {
            let log =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let found: Vec<_> = log
                .lines()
                .filter_map(eventfn_core::attempt::Attempt::parse)
                .collect();
            if found.len() >= count || started.elapsed() > std::time::Duration::from_secs(5) {
                return found;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// `invoke --stage`: the function found through the stack, called with the event its trigger
/// would hand it (its queue's SQS record) through Lambda's Invoke API, served here by the
/// emulator (`AWS_ENDPOINT_URL_LAMBDA`, which the SDK prefers to `AWS_ENDPOINT_URL`).
async fn check_invoke(moto: &Moto, cf: &aws_sdk_cloudformation::Client) {
    let mut functions = Vec::new();
    for (logical, handler) in [
        ("HandlerAuditFunction", "welcome::audit"),
        ("HandlerCheckEmailFunction", "welcome::check_email"),
        ("HandlerNoonReportFunction", "welcome::noon_report"),
        ("HandlerThumbnailFunction", "welcome::thumbnail"),
    ] {
        functions.push((physical_id(cf, "WelcomeStaging", logical).await, handler));
    }
    let bootstrap = target_dir().join("eventfn/welcome/bootstrap");
    let emulator = Functions::start(&bootstrap, &functions);
    let lambda = format!("http://127.0.0.1:{}", emulator.port);
    let invoke = |args: &[&str]| {
        let mut all = vec!["invoke", "-p", "welcome", "--stage", "staging"];
        all.extend_from_slice(args);
        run_with(moto, &all, &[("AWS_ENDPOINT_URL_LAMBDA", &lambda)])
    };

    let ok = invoke(&["audit", r#"{"user_id": "u1", "email": "ada@example.com"}"#]);
    let said = stderr(&ok);
    assert!(ok.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "Invoking `welcome::audit` (event `account-signup`) of stage `staging`: function `{}` \
             (stack `WelcomeStaging`, account 123456789012, {lambda})",
            functions[0].0
        )),
        "{said}"
    );
    // The emulator returns no log tail: the function's answer alone is known, and said so.
    assert!(
        said.contains("`welcome::audit` reported no failure (the endpoint returned no log tail"),
        "{said}"
    );

    // A handler's error: the record is reported failed, and the command fails.
    let failed = invoke(&["check_email", r#"{"user_id": "u1", "email": "nope"}"#]);
    let said = stderr(&failed);
    assert_eq!(failed.status.code(), Some(1), "{said}");
    assert!(said.contains("`welcome::check_email` failed"), "{said}");
    assert!(
        said.contains("an invoke is not (its message is on no queue)"),
        "{said}"
    );

    // A schedule's handler gets Scheduler's event, a queue's its job; as JSON, Lambda's answer.
    let fired = invoke(&["noon_report", "--message-format", "json"]);
    assert!(fired.status.success(), "{}", stderr(&fired));
    let answer: Value = serde_json::from_slice(&fired.stdout).unwrap();
    // No log tail from the emulator, so no attempt line: the function's answer alone.
    assert_eq!(answer["result"], "unconfirmed");
    assert_eq!(answer["attempt"], Value::Null);
    assert_eq!(answer["response"], json!({ "batchItemFailures": [] }));
    let fired = emulator.attempts(&functions[2].0, 1);
    assert_eq!(
        (fired[0].kind.as_str(), fired[0].name.as_str()),
        ("schedule", "noon-report")
    );
    let job = invoke(&[
        "welcome::thumbnail",
        r#"{"bucket": "b", "key": "cat.png", "width": 64}"#,
    ]);
    assert!(job.status.success(), "{}", stderr(&job));
    let thumbnail = emulator.attempts(&functions[3].0, 1);
    assert_eq!(
        (thumbnail[0].kind.as_str(), thumbnail[0].outcome),
        ("queue", eventfn_core::attempt::Outcome::Ok)
    );

    // Mistakes are named before anything is invoked.
    for (args, expected) in [
        (
            vec!["nope", "{}"],
            "`nope` is not a handler of this stage; its handlers are: ",
        ),
        (vec!["noon_report", "{}"], "which takes no payload"),
        (vec!["audit", "{oops"], "the payload is not JSON"),
    ] {
        let output = invoke(&args);
        let said = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {said}");
        assert!(said.contains(expected), "{args:?}: {said}");
        assert!(!said.contains("Invoking"), "{args:?}: {said}");
    }
}

async fn physical_id(cf: &aws_sdk_cloudformation::Client, stack: &str, logical: &str) -> String {
    all_resources(cf, stack)
        .await
        .values()
        .find_map(|resources| resources.get(logical).cloned())
        .unwrap_or_else(|| panic!("no resource {logical} in {stack}"))
}

/// Dead letters of a deployed stage: what the functions sent there with their error, what the
/// queue's redrive moved without one, and what the delay queue could not send on, are listed
/// with their handler, event, attempts and error; a replay sends one back to its handler's own
/// queue with the attributes its publisher set and removes it; purge needs --yes, then drops
/// the rest.
#[test]
fn dead_letters_of_a_stage_are_listed_replayed_and_purged() {
    let moto = Moto::start();
    deploy(&moto, &["-p", "welcome", "--stage", "qa"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(moto.config());
    let (cf, sqs) = (cloudformation(&config), aws_sdk_sqs::Client::new(&config));
    let url = |logical: &str| rt.block_on(physical_id(&cf, "WelcomeQa", logical));
    let (audit_dead, audit_queue) = (url("HandlerAuditDeadLetters"), url("HandlerAuditQueue"));
    let (thumbnails_dead, delay_dead) =
        (url("HandlerThumbnailDeadLetters"), url("DelayDeadLetters"));
    let attribute = |kind: &str, value: &str| {
        aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type(kind)
            .string_value(value)
            .build()
            .unwrap()
    };
    let published = 1_795_514_400_000_u64;
    rt.block_on(async {
        // As the audit function sends its last failed attempt: with why.
        sqs.send_message()
            .queue_url(&audit_dead)
            .message_body(r#"{"user_id":"u1"}"#)
            .message_attributes("eventfn.name", attribute("String", "account-signup"))
            .message_attributes("eventfn.time", attribute("Number", &published.to_string()))
            .message_attributes("eventfn.delay", attribute("Number", "0"))
            .message_attributes("eventfn.error", attribute("String", "audit log is full"))
            .message_attributes("eventfn.attempts", attribute("Number", "4"))
            .message_attributes("eventfn.handler", attribute("String", "welcome::audit"))
            .send()
            .await
            .unwrap();
        // As the queue's redrive moves a message: as it was.
        sqs.send_message()
            .queue_url(&thumbnails_dead)
            .message_body(r#"{"image":"a.png"}"#)
            .message_attributes("eventfn.name", attribute("String", "thumbnails"))
            .send()
            .await
            .unwrap();
        sqs.send_message()
            .queue_url(&delay_dead)
            .message_body(format!(
                r#"{{"eventfn":{{"kind":"event","name":"account-check-email","time":{published},"delay":60000}},"payload":{{"email":"u1@example.com"}}}}"#
            ))
            .send()
            .await
            .unwrap();
    });

    let list = |moto: &Moto| -> Vec<Value> {
        let output = run(
            moto,
            &[
                "events",
                "-p",
                "welcome",
                "--stage",
                "qa",
                "--dead",
                "--message-format",
                "json",
            ],
        );
        assert!(output.status.success());
        let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(listed["stack"], "WelcomeQa");
        listed["deadLetters"].as_array().unwrap().clone()
    };
    let letters = list(&moto);
    assert_eq!(letters.len(), 3, "{letters:#?}");
    let find = |letters: &[Value], queue: &str| -> Value {
        letters
            .iter()
            .find(|l| l["queue"] == queue)
            .unwrap()
            .clone()
    };
    let audit = find(&letters, "HandlerAuditDeadLetters");
    assert_eq!(audit["handler"], "welcome::audit");
    assert_eq!(
        (audit["kind"].as_str(), audit["name"].as_str()),
        (Some("event"), Some("account-signup"))
    );
    assert_eq!(audit["attempts"], 4);
    assert_eq!(audit["error"], "audit log is full");
    assert_eq!(audit["time"], published);
    let thumbnail = find(&letters, "HandlerThumbnailDeadLetters");
    assert_eq!(thumbnail["handler"], "welcome::thumbnail");
    assert_eq!(
        (thumbnail["kind"].as_str(), thumbnail["name"].as_str()),
        (Some("queue"), Some("thumbnails"))
    );
    // Moved by redrive: the attempts of the queue's policy (default retries 2), no error.
    assert_eq!(thumbnail["attempts"], 3);
    assert_eq!(thumbnail["error"], Value::Null);
    let delayed = find(&letters, "DelayDeadLetters");
    assert_eq!(delayed["handler"], "@delayed");
    assert_eq!(
        (delayed["kind"].as_str(), delayed["name"].as_str()),
        (Some("event"), Some("account-check-email"))
    );
    assert_eq!(delayed["attempts"], 5);

    // Listing leaves them in place, and the human form says what each is and why it failed.
    let output = run(
        &moto,
        &["events", "-p", "welcome", "--stage", "qa", "--dead"],
    );
    let table = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        table.contains("event `account-signup` → `welcome::audit`"),
        "{table}"
    );
    assert!(table.contains("error: audit log is full"), "{table}");
    // Every letter could be read: no warning that the queues hold more.
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    assert!(
        table.contains("error: not recorded: the queue's redrive moved it"),
        "{table}"
    );
    assert_eq!(list(&moto).len(), 3);

    // --limit keeps the newest, and says how many it left out.
    let limited = run(
        &moto,
        &[
            "events",
            "-p",
            "welcome",
            "--stage",
            "qa",
            "--dead",
            "--limit",
            "1",
            "--message-format",
            "json",
        ],
    );
    assert!(limited.status.success(), "{}", stderr(&limited));
    let one: Value = serde_json::from_slice(&limited.stdout).unwrap();
    assert_eq!(one["deadLetters"].as_array().unwrap().len(), 1, "{one}");
    assert!(
        stderr(&limited).contains("the 1 newest dead letters of stage `qa`; 2 older not shown"),
        "{}",
        stderr(&limited)
    );

    let refused = failure(&run(&moto, &["events", "-p", "welcome", "--stage", "qa"]));
    assert!(
        refused.contains("lists the stage's dead letters only: add --dead"),
        "{refused}"
    );
    let missing = failure(&run(
        &moto,
        &["replay", "-p", "welcome", "--stage", "qa", "nope"],
    ));
    assert!(
        missing.contains("stage `qa` has no dead letter `nope`"),
        "{missing}"
    );
    let no_stack = failure(&run(
        &moto,
        &["events", "-p", "welcome", "--stage", "prod", "--dead"],
    ));
    assert!(
        no_stack.contains("there is no stack `WelcomeProd`"),
        "{no_stack}"
    );

    // Replay: back to the audit handler's own queue, with its publisher's attributes only.
    let id = audit["id"].as_str().unwrap();
    let replayed = run(&moto, &["replay", "-p", "welcome", "--stage", "qa", id]);
    assert!(replayed.status.success());
    assert!(stderr(&replayed).contains(&format!("Replayed dead letter {id}")));
    rt.block_on(async {
        let received = sqs
            .receive_message()
            .queue_url(&audit_queue)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = received.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].body(), Some(r#"{"user_id":"u1"}"#));
        let attributes = messages[0].message_attributes().unwrap();
        let mut keys: Vec<&String> = attributes.keys().collect();
        keys.sort();
        assert_eq!(keys, ["eventfn.delay", "eventfn.name", "eventfn.time"]);
        assert_eq!(
            attributes["eventfn.time"].string_value(),
            Some(published.to_string().as_str())
        );
    });
    let left = list(&moto);
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|l| l["id"] != id));

    // Purge asks for --yes and keeps everything without it.
    let refused = failure(&run(
        &moto,
        &["purge", "-p", "welcome", "--stage", "qa", "--dead"],
    ));
    assert!(
        refused.contains("purging deletes the 2 dead letters of stage `qa` for good: pass --yes"),
        "{refused}"
    );
    assert_eq!(list(&moto).len(), 2);
    let purged = run(
        &moto,
        &["purge", "-p", "welcome", "--stage", "qa", "--dead", "--yes"],
    );
    assert!(purged.status.success());
    assert!(stderr(&purged).contains("Purged 2 dead letters of stage `qa`"));
    assert!(list(&moto).is_empty());
    let nothing = run(
        &moto,
        &["replay", "-p", "welcome", "--stage", "qa", "--all"],
    );
    assert!(nothing.status.success());
    assert!(stderr(&nothing).contains("nothing: stage `qa` has no dead letters"));

    // --all replays every letter there was when it started, once. In moto a replayed job comes
    // back to the dead letters at once (its event source mapping cannot run the function), as a
    // job whose handler fails again at once would on AWS: the same command does not replay it
    // again.
    rt.block_on(async {
        for n in 0..12 {
            sqs.send_message()
                .queue_url(&thumbnails_dead)
                .message_body(format!(r#"{{"image":"{n}.png"}}"#))
                .message_attributes("eventfn.name", attribute("String", "thumbnails"))
                .send()
                .await
                .unwrap();
        }
    });
    assert_eq!(replay_all(&moto, "welcome").len(), 12);
}

/// `replay --stage qa --all` of `package`, which must succeed: the ids it says it replayed, in
/// the order it said them.
fn replay_all(moto: &Moto, package: &str) -> Vec<String> {
    let replayed = run(moto, &["replay", "-p", package, "--stage", "qa", "--all"]);
    let said = stderr(&replayed);
    assert!(replayed.status.success(), "{said}");
    said.lines()
        .filter_map(|l| l.trim().strip_prefix("Replayed dead letter "))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_owned)
        .collect()
}

/// Filters on AWS: each subscription of the deployed template carries its handler's filter on
/// the message body, and SNS delivers what our matcher (the sandbox's) says it delivers.
///
/// moto's CloudFormation skips `AWS::SNS::Subscription` (it creates no subscription), so the
/// test makes each one through the SNS API from the template's own properties, on a probe queue
/// of its own (the handler queues feed moto's event source mappings), then reads the
/// subscription back and publishes to the deployed topic.
#[tokio::test(flavor = "multi_thread")]
async fn filtered_subscriptions_carry_their_policy_and_sns_delivers_what_the_sandbox_would() {
    let moto = Moto::start();
    let config = moto.config().await;
    let summary = deploy(&moto, &["-p", "fixture-filters-app"]);
    assert_eq!(summary["result"], "created");
    let topic = summary["outputs"]["EventOrderTopic"]
        .as_str()
        .expect("the order topic's ARN")
        .to_owned();
    let manifest: Value =
        serde_json::from_str(&read(target_dir().join("eventfn/filters/eventfn.json"))).unwrap();
    let template = template("filters");
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);

    let mut probes = Vec::new();
    for handler in manifest["handlers"].as_array().unwrap() {
        let function = handler["function"].as_str().unwrap();
        let short = function.rsplit("::").next().unwrap();
        let logical = format!(
            "Handler{}Subscription",
            eventfn_core::logical::function_id(function)
        );
        let properties = &template["Resources"][&logical]["Properties"];
        assert_eq!(
            properties["TopicArn"]["Ref"], "EventOrderTopic",
            "{logical}"
        );
        assert_eq!(properties["FilterPolicy"], handler["filter"], "{logical}");

        let queue = sqs
            .create_queue()
            .queue_name(format!("probe-{short}"))
            .send()
            .await
            .unwrap();
        let mut subscribe = sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:us-east-1:123456789012:probe-{short}"))
            .attributes(
                "RawMessageDelivery",
                properties["RawMessageDelivery"].to_string(),
            )
            .return_subscription_arn(true);
        if let Some(scope) = properties["FilterPolicyScope"].as_str() {
            subscribe = subscribe
                .attributes("FilterPolicyScope", scope)
                .attributes("FilterPolicy", properties["FilterPolicy"].to_string());
        }
        let subscription = subscribe.send().await.unwrap_or_else(|e| {
            panic!("moto refused the subscription of {function}: {e:?}");
        });
        let attributes = sns
            .get_subscription_attributes()
            .subscription_arn(subscription.subscription_arn().unwrap())
            .send()
            .await
            .unwrap();
        let attributes = attributes.attributes().unwrap();
        match handler.get("filter") {
            Some(filter) => {
                let read_back: Value = serde_json::from_str(&attributes["FilterPolicy"]).unwrap();
                assert_eq!(&read_back, filter, "{function}");
                assert_eq!(attributes["FilterPolicyScope"], "MessageBody", "{function}");
            }
            None => assert!(!attributes.contains_key("FilterPolicy"), "{function}"),
        }
        let policy = handler
            .get("filter")
            .map(|f| eventfn_core::FilterPolicy::from_value(f).unwrap());
        probes.push((short, queue.queue_url().unwrap().to_owned(), policy));
    }
    assert_eq!(probes.len(), 5);

    let orders = [
        r#"{"id": 1, "total": 150, "country": "NL", "customer": {"tier": "gold"}, "email": "a@example.com", "sku": "GIFT-1"}"#,
        r#"{"id": 2, "total": 50, "country": "NL", "customer": {"tier": "trial"}, "email": "b@shop.nl", "coupon": "X", "sku": "voucher"}"#,
        r#"{"id": 3, "total": 5000, "country": "DE", "customer": {"tier": "free"}, "email": "c@example.com", "coupon": "Y", "sku": "VOUCHER"}"#,
        r#"{"id": 4, "total": 1000, "country": "BE", "email": "d@example.com", "sku": "book"}"#,
        r#"{"id": 5, "total": 1000.5, "country": "BE", "customer": {"tier": "silver"}, "sku": "gift-2"}"#,
        r#""not an object""#,
    ];
    for order in orders {
        sns.publish()
            .topic_arn(&topic)
            .message(order)
            .send()
            .await
            .unwrap();
    }
    let mut seen = BTreeSet::new();
    for (short, url, policy) in &probes {
        let received: BTreeSet<String> = bodies(&sqs, url).await.into_iter().collect();
        let expected: BTreeSet<String> = orders
            .iter()
            .filter(|o| policy.as_ref().is_none_or(|p| p.matches_json(o)))
            .map(|o| o.to_string())
            .collect();
        assert_eq!(received, expected, "{short}");
        let ids: Vec<u64> = received
            .iter()
            .filter_map(|b| serde_json::from_str::<Value>(b).ok()?["id"].as_u64())
            .collect();
        seen.insert((*short, ids));
    }
    // What each filter lets through, spelled out, so that a matcher that let everything (or
    // nothing) through on both sides could not pass.
    assert_eq!(
        seen,
        BTreeSet::from([
            ("benelux", vec![1, 4]),
            ("every", vec![1, 2, 3, 4, 5]),
            ("gifts", vec![1, 2, 3]),
            ("paying", vec![1, 5]),
            ("staff", vec![1, 4]),
        ])
    );
}

/// A FIFO queue's dead letters share one message group, of which SQS hands out the first ten
/// at a time: `events` says when it could not read them all, `replay --all` reads again until
/// the fifteen that were there are replayed, each once, and `purge` reaches them all.
#[test]
fn fifo_dead_letters_are_all_replayed_once_each() {
    let moto = Moto::start();
    deploy(&moto, &["-p", "fixture-basic", "--stage", "qa"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(moto.config());
    let (cf, sqs) = (cloudformation(&config), aws_sdk_sqs::Client::new(&config));
    let stack = "BasicAppQa";
    let dead = rt.block_on(physical_id(&cf, stack, "HandlerOrderedDeadLetters"));
    let send = |range: std::ops::Range<u32>| {
        rt.block_on(async {
            for n in range {
                sqs.send_message()
                    .queue_url(&dead)
                    .message_body(format!(r#"{{"order":{n}}}"#))
                    .message_group_id("orders.fifo-queue")
                    .message_deduplication_id(format!("letter-{n}"))
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    send(0..15);
    let listed = run(
        &moto,
        &["events", "-p", "fixture-basic", "--stage", "qa", "--dead"],
    );
    assert!(listed.status.success(), "{}", stderr(&listed));
    let read = String::from_utf8_lossy(&listed.stdout)
        .matches("queue `orders.fifo-queue`")
        .count();
    if read < 15 {
        assert!(
            stderr(&listed).contains(&format!(
                "warning: `HandlerOrderedDeadLetters` holds about 15 dead letters, of which {read} could be read now"
            )),
            "{}",
            stderr(&listed)
        );
    }

    // Fifteen letters, each once (moto's event source mapping takes them off the handler's
    // queue at once, so what arrived there cannot be read back here).
    let replayed = replay_all(&moto, "fixture-basic");
    assert_eq!(replayed.len(), 15, "{replayed:?}");
    let ids: std::collections::BTreeSet<&String> = replayed.iter().collect();
    assert_eq!(ids.len(), 15, "{replayed:?}");

    send(15..27);
    let purged = run(
        &moto,
        &[
            "purge",
            "-p",
            "fixture-basic",
            "--stage",
            "qa",
            "--dead",
            "--yes",
        ],
    );
    assert!(purged.status.success(), "{}", stderr(&purged));
    // The count is SQS's approximate one (in moto, replayed jobs also come back): what matters
    // is that nothing is left.
    assert!(
        stderr(&purged).contains("dead letters of `fixture_basic::ordered`"),
        "{}",
        stderr(&purged)
    );
    let left = rt.block_on(async {
        sqs.receive_message()
            .queue_url(&dead)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default()
            .len()
    });
    assert_eq!(left, 0);
}

/// EventBridge on AWS: the template's bus, its SSM parameter, and each rule on its bus with the
/// handler's pattern, targeting the handler's queue with a retry policy and its dead letters.
/// moto's event source mappings read the handler queues, so each rule also gets a probe queue
/// as a second target; what EventBridge delivers there is what the rule matched: the S3 event
/// on the default bus reaches the upload rule alone, the large budget on the app's bus the
/// budget rule alone, and the small one neither.
#[tokio::test(flavor = "multi_thread")]
async fn rules_deploy_on_their_buses_and_eventbridge_delivers_what_they_match() {
    let moto = Moto::start();
    let summary = deploy(&moto, &["-p", "fixture-basic", "--stage", "bus"]);
    assert_eq!(summary["result"], "created");
    let stack = "BasicAppBus";
    let config = moto.config().await;
    let (cf, sqs, ssm) = (
        cloudformation(&config),
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_ssm::Client::new(&config),
    );
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let bus = ssm
        .get_parameter()
        .name(format!("/{stack}/buses/budgets"))
        .send()
        .await
        .unwrap()
        .parameter
        .and_then(|p| p.value)
        .unwrap();
    assert_eq!(bus, format!("{stack}-budgets"));
    let manifest: Value =
        serde_json::from_str(&read(target_dir().join("eventfn/basic-app/eventfn.json"))).unwrap();
    let pattern_of = |function: &str| {
        manifest["handlers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["function"] == function)
            .unwrap()["pattern"]
            .clone()
    };

    let mut probes = Vec::new();
    for (logical, handler, function, on) in [
        (
            "RuleOnUploadRule",
            "HandlerOnUpload",
            "fixture_basic::on_upload",
            "default",
        ),
        (
            "RuleBigBudgetsRule",
            "HandlerAnalyse",
            "fixture_basic::analyse",
            bus.as_str(),
        ),
    ] {
        let rule = physical_id(&cf, stack, logical).await;
        let described = eventbridge
            .describe_rule()
            .name(&rule)
            .event_bus_name(on)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no rule {rule} on bus {on}: {e:?}"));
        let pattern: Value = serde_json::from_str(described.event_pattern().unwrap()).unwrap();
        assert_eq!(pattern, pattern_of(function), "{logical}");
        let targets = eventbridge
            .list_targets_by_rule()
            .rule(&rule)
            .event_bus_name(on)
            .send()
            .await
            .unwrap();
        let [target] = targets.targets() else {
            panic!("{logical}: {targets:?}");
        };
        let queue = physical_id(&cf, stack, &format!("{handler}Queue")).await;
        let dead = physical_id(&cf, stack, &format!("{handler}DeadLetters")).await;
        assert_eq!(target.arn(), queue_arn(&sqs, &queue).await, "{logical}");
        let retry = target.retry_policy().unwrap();
        assert_eq!(
            (
                retry.maximum_retry_attempts(),
                retry.maximum_event_age_in_seconds()
            ),
            (Some(185), Some(86_400))
        );
        assert_eq!(
            target.dead_letter_config().and_then(|d| d.arn()),
            Some(queue_arn(&sqs, &dead).await.as_str())
        );

        let probe = create_queue(&sqs, &format!("probe-{handler}")).await;
        target_queue(
            &eventbridge,
            &rule,
            on,
            "probe",
            &queue_arn(&sqs, &probe).await,
        )
        .await;
        probes.push((handler, probe));
    }

    let entry = |bus: &str, source: &str, detail_type: &str, detail: Value| {
        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(bus)
            .source(source)
            .detail_type(detail_type)
            .detail(detail.to_string())
            .build()
    };
    let put = eventbridge
        .put_events()
        .entries(entry(
            "default",
            "aws.s3",
            "Object Created",
            serde_json::json!({"bucket": {"name": "uploads"}, "object": {"key": "cat.png"}}),
        ))
        .entries(entry(
            "default",
            "aws.s3",
            "Object Created",
            serde_json::json!({"bucket": {"name": "other"}, "object": {"key": "dog.png"}}),
        ))
        .entries(entry(
            &bus,
            "shop",
            "BUDGET_ANALYSIS",
            serde_json::json!({"id": 1, "amount": 12000}),
        ))
        .entries(entry(
            &bus,
            "shop",
            "BUDGET_ANALYSIS",
            serde_json::json!({"id": 2, "amount": 500}),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0, "{put:?}");

    let mut received = Vec::new();
    for (handler, probe) in &probes {
        let details: Vec<Value> = bodies(&sqs, probe)
            .await
            .iter()
            .map(|body| serde_json::from_str::<Value>(body).unwrap()["detail"].clone())
            .collect();
        received.push((*handler, details));
    }
    assert_eq!(
        received,
        [
            (
                "HandlerOnUpload",
                vec![
                    serde_json::json!({"bucket": {"name": "uploads"}, "object": {"key": "cat.png"}})
                ]
            ),
            (
                "HandlerAnalyse",
                vec![serde_json::json!({"id": 1, "amount": 12000})]
            ),
        ]
    );
}

/// The directory of the generated app of [`write_large_app`].
fn large_app_dir() -> std::path::PathBuf {
    target_dir().join("eventfn-tests/large-app")
}

/// Writes an app of 300 handlers of every kind, and one more (`extra_handler`, an event handler
/// of an existing event) when `extra`, as a crate of its own built into the shared target dir
/// with the workspace's lock file and profiles. Returns its `Cargo.toml`.
///
/// Handler `i` is: `i % 5 == 0` a queue of its own (60); `== 1` a schedule (60); `== 2` a rule,
/// on the default bus or the app's bus `orders` (60); else a subscriber of one of 60 events
/// (120).
fn write_large_app(extra: bool) -> std::path::PathBuf {
    use std::fmt::Write as _;
    let dir = large_app_dir();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mut source = String::from(
        "//! Generated by tests/tests/deploy.rs: 300 handlers of every kind.\n\n\
         use eventfn::{event, queue, rule, schedule};\n\n",
    );
    for i in 0..300 {
        let attribute = match i % 5 {
            0 => format!("#[queue(\"jobs-{i}\")]"),
            1 => format!("#[schedule(\"rate({} hours)\")]", 2 + i % 7),
            2 => format!(
                "#[rule(bus = \"{}\", pattern = r#\"{{\"source\": [\"shop\"], \"detail-type\": [\"t{i}\"]}}\"#)]",
                if i % 2 == 0 { "orders" } else { "default" }
            ),
            _ => format!("#[event(\"happened-{}-{}\")]", (i / 5) % 30, i % 5),
        };
        writeln!(
            source,
            "{attribute}\nasync fn handler_{i}() -> eventfn::Result<()> {{\n    Ok(())\n}}\n"
        )
        .unwrap();
    }
    if extra {
        source.push_str(
            "#[event(\"happened-0-3\")]\nasync fn extra_handler() -> eventfn::Result<()> {\n    Ok(())\n}\n\n",
        );
    }
    source.push_str(
        "#[tokio::main]\nasync fn main() -> eventfn::Result<()> {\n    eventfn::run().await\n}\n",
    );
    let path = dir.join("src/main.rs");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(source.as_str()) {
        std::fs::write(&path, source).unwrap();
    }
    let workspace = read(root().join("Cargo.toml"));
    let profiles = &workspace[workspace.find("[profile.").unwrap()..];
    let manifest = format!(
        "[package]\nname = \"large-app\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [package.metadata.eventfn]\napp = \"large\"\n\n[dependencies]\n\
         eventfn = {{ path = \"{}\", default-features = false }}\n\
         tokio = {{ version = \"1\", features = [\"macros\", \"rt\"] }}\n\n[workspace]\n\n{profiles}",
        root().join("runtime").display()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir.join("Cargo.toml")
}

/// The nested stacks' templates of the generated app's last build, by logical ID.
fn nested_templates() -> std::collections::BTreeMap<String, Value> {
    let dir = target_dir().join("eventfn/large/stacks");
    let mut found = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let id = path.file_stem().unwrap().to_str().unwrap().to_owned();
        found.insert(id, serde_json::from_str(&read(&path)).unwrap());
    }
    found
}

/// Every resource of the stack `stack` and of its nested stacks: (stack's logical ID in the
/// parent, or `""` for the parent) → logical ID → physical ID.
async fn all_resources(
    cf: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let mut all = std::collections::BTreeMap::new();
    let mut pending = vec![(String::new(), stack.to_owned())];
    while let Some((group, stack)) = pending.pop() {
        let mut resources = std::collections::BTreeMap::new();
        let mut token = None;
        loop {
            let listed = cf
                .list_stack_resources()
                .stack_name(&stack)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            for resource in listed.stack_resource_summaries() {
                let (Some(id), Some(physical)) = (
                    resource.logical_resource_id(),
                    resource.physical_resource_id(),
                ) else {
                    continue;
                };
                if id.is_empty() {
                    continue;
                }
                if resource.resource_type() == Some("AWS::CloudFormation::Stack") {
                    pending.push((id.to_owned(), physical.to_owned()));
                }
                resources.insert(id.to_owned(), physical.to_owned());
            }
            token = listed.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        all.insert(group, resources);
    }
    all
}

/// An app of 300 handlers builds into a parent stack and nested stacks each within
/// CloudFormation's limits (cfn-lint clean), deploys to moto, grows by one handler changing one
/// nested stack and no queue elsewhere, redeploys unchanged without a change set, lists its dead
/// letters across the stacks, and is destroyed whole.
#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_handlers_deploy_in_nested_stacks_and_grow_one_stack_at_a_time() {
    let manifest = write_large_app(false);
    let manifest = manifest.to_str().unwrap();
    let target = target_dir();
    let started = std::time::Instant::now();
    let summary = build_ok(
        &["--manifest-path", manifest],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    eprintln!(
        "measured: build of 300 handlers took {:.1?}",
        started.elapsed()
    );
    assert_eq!(summary["handlers"]["handlers"], 300);
    let paths = template_paths(&summary);
    assert_eq!(
        paths.len(),
        17,
        "the parent and 16 nested stacks: {paths:?}"
    );
    // cfn-lint takes half a minute on these templates: it reads copies of them (the next build
    // rewrites them) on the other core while moto works, and is waited for at the end.
    let copies = tempfile_dir("large-app-templates");
    let copied: Vec<std::path::PathBuf> = paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let copy = copies.join(format!(
                "{i}-{}",
                path.file_name().unwrap().to_str().unwrap()
            ));
            std::fs::copy(path, &copy).unwrap();
            copy
        })
        .collect();
    let lint = Command::new(venv_tool("cfn-lint"))
        .args(&copied)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut counts = Vec::new();
    for path in &paths {
        let template: Value = serde_json::from_str(&read(path)).unwrap();
        let count = |section: &str| template[section].as_object().map_or(0, |m| m.len());
        assert!(count("Resources") <= 500, "{}", path.display());
        assert!(count("Outputs") <= 200, "{}", path.display());
        assert!(count("Parameters") <= 60, "{}", path.display());
        counts.push(count("Resources"));
    }
    let flat = flat_template(&summary);
    let total = flat["Resources"].as_object().unwrap().len();
    eprintln!(
        "measured: {} stacks; resources: parent {}, nested {:?}; {total} in all, {:.1} per handler",
        paths.len(),
        counts[0],
        &counts[1..],
        total as f64 / 300.0
    );

    let moto = Moto::start();
    let config = moto.config().await;
    let cf = cloudformation(&config);
    let started = std::time::Instant::now();
    let created = deploy(&moto, &["--manifest-path", manifest]);
    eprintln!(
        "measured: first deploy to moto took {:.1?}",
        started.elapsed()
    );
    assert_eq!(created["result"], "created");
    // The parent passes CloudFormation's 51,200 bytes for a template sent inline: it went through
    // S3, as did each nested stack, under the hash of its text.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let object = |key: String| {
        let s3 = s3.clone();
        async move {
            let object = s3
                .get_object()
                .bucket("eventfn-deploy-123456789012-us-east-1")
                .key(&key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            let bytes = object.body.collect().await.unwrap().into_bytes();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    };
    let parent: Value = serde_json::from_str(&read(&paths[0])).unwrap();
    let compact = serde_json::to_string(&parent).unwrap();
    assert!(compact.len() > 51_200, "{} bytes", compact.len());
    let url = created["template_url"].as_str().unwrap();
    let key = url
        .strip_prefix("https://eventfn-deploy-123456789012-us-east-1.s3.us-east-1.amazonaws.com/")
        .unwrap();
    assert!(
        key.starts_with("large/template-") && key.ends_with(".json"),
        "{url}"
    );
    assert_eq!(object(key.to_owned()).await, compact);
    for (id, stack) in parent["Resources"].as_object().unwrap() {
        if stack["Type"] != "AWS::CloudFormation::Stack" {
            continue;
        }
        let url = stack["Properties"]["TemplateURL"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let key = url
            .strip_prefix("https://${CodeBucket}.s3.${AWS::Region}.${AWS::URLSuffix}/")
            .unwrap();
        let nested: Value = serde_json::from_str(&object(key.to_owned()).await).unwrap();
        let built: Value = serde_json::from_str(&read(
            target_dir()
                .join("eventfn/large/stacks")
                .join(format!("{id}.json")),
        ))
        .unwrap();
        assert_eq!(nested, built, "{id}");
    }
    let before = all_resources(&cf, "LargeStaging").await;
    assert_eq!(before.len(), 17);
    let functions = before
        .values()
        .flat_map(|r| r.keys())
        .filter(|id| id.ends_with("Function"))
        .count();
    assert_eq!(functions, 301, "300 handlers and the delay function");

    // One more handler: its nested stack changes, and nothing else does.
    let nested_before = nested_templates();
    let manifest_grown = write_large_app(true);
    assert_eq!(manifest_grown.to_str().unwrap(), manifest);
    let grown = deploy(&moto, &["--manifest-path", manifest]);
    assert_eq!(grown["result"], "updated");
    let changed: Vec<(String, String)> = changes(&grown)
        .into_iter()
        .filter(|(_, id)| !id.contains('/'))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    let (action, group) = &changed[0];
    assert_eq!(action, "Modify");
    let inside: BTreeSet<(String, String)> = changes(&grown)
        .into_iter()
        .filter(|(_, id)| id.starts_with(&format!("{group}/")))
        .collect();
    assert!(
        inside.iter().all(|(action, _)| action == "Add"),
        "{inside:?}"
    );
    assert!(
        inside.contains(&(
            "Add".to_owned(),
            format!("{group}/HandlerExtraHandlerFunction")
        )),
        "{inside:?}"
    );
    // Of the templates, that one nested stack's changed, and only by what it adds: every
    // resource it had is as it was, so CloudFormation updates it in place and its queues keep
    // their messages.
    let grown_templates = nested_templates();
    for (id, template) in &nested_before {
        let now = &grown_templates[id];
        if id == group {
            for (resource, definition) in template["Resources"].as_object().unwrap() {
                assert_eq!(
                    Some(definition),
                    now["Resources"].get(resource),
                    "{id}/{resource}"
                );
            }
        } else {
            assert_eq!(template, now, "nested stack {id} changed");
        }
    }
    // In the stacks: the parent's resources are where they were. (The new binary has a new code
    // key, which every nested stack passes to its functions: CloudFormation updates their code in
    // place, while moto replaces a nested stack whose parameters changed, so the nested stacks'
    // physical IDs are not compared.)
    let after = all_resources(&cf, "LargeStaging").await;
    for (id, physical) in &before[""] {
        if !id.starts_with("Handlers") {
            assert_eq!(Some(physical), after[""].get(id), "{id} changed");
        }
    }
    assert_eq!(before[""].len(), after[""].len());
    let queues = before[""]
        .keys()
        .filter(|id| id.starts_with("Queue") && !id.ends_with("Parameter"))
        .count();
    assert_eq!(queues, 60, "the app queues are the parent's and stayed");

    // Unchanged: no change set, nothing uploaded.
    let started = std::time::Instant::now();
    let again = deploy(&moto, &["--manifest-path", manifest]);
    eprintln!(
        "measured: unchanged redeploy took {:.1?}",
        started.elapsed()
    );
    assert_eq!(again["result"], "unchanged");
    assert_eq!(again["code"]["uploaded"], false);

    // Dead letters are found in the nested stacks: one put in handler 3's is listed as its.
    let dead = after
        .values()
        .find_map(|r| r.get("HandlerHandler3DeadLetters"))
        .expect("handler 3's dead letters");
    aws_sdk_sqs::Client::new(&config)
        .send_message()
        .queue_url(dead)
        .message_body(r#"{"probe":3}"#)
        .send()
        .await
        .unwrap();
    let listed = run(
        &moto,
        &[
            "events",
            "--manifest-path",
            manifest,
            "--stage",
            "staging",
            "--dead",
            "--message-format",
            "json",
        ],
    );
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let letters = listed["deadLetters"].as_array().unwrap();
    assert_eq!(letters.len(), 1, "{listed}");
    assert!(
        letters[0].to_string().contains("large_app::handler_3"),
        "{listed}"
    );

    let destroyed = run(
        &moto,
        &[
            "destroy",
            "--manifest-path",
            manifest,
            "--stage",
            "staging",
            "--yes",
        ],
    );
    assert!(destroyed.status.success());
    assert_eq!(status(&cf, "LargeStaging").await, None);
    for (id, physical) in &after[""] {
        if id.starts_with("Handlers") {
            assert_eq!(status(&cf, physical).await, None, "nested stack {id}");
        }
    }

    let lint = lint.wait_with_output().unwrap();
    assert!(
        lint.status.success() && lint.stdout.is_empty(),
        "cfn-lint on the 300-handler app's templates:\n{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// A directory of its own under the target dir, emptied.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = target_dir().join("eventfn-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A stage deployed when schedules were EventBridge rules (a rule sending to the handler's
/// queue, admitted by a queue policy) updates cleanly to EventBridge Scheduler: the old shape is
/// made from the new build's templates, created with CloudFormation directly, then `deploy`
/// updates it; the rule goes, and the schedule's role comes. (moto reports a Scheduler schedule
/// created without making one, so the schedule itself is checked in the template's test.)
#[tokio::test(flavor = "multi_thread")]
async fn a_stage_with_schedule_rules_updates_to_scheduler_schedules() {
    let moto = Moto::start();
    let config = moto.config().await;
    let cf = cloudformation(&config);
    let summary = build_ok(&["-p", "nightly-cleanup"], &[]);
    let paths = template_paths(&summary);
    let group = group_of("nightly-cleanup", "ScheduleNightlyCleanupSchedule");
    let path = paths
        .iter()
        .find(|p| p.file_stem().unwrap() == group.as_str())
        .unwrap();

    // The old shape of that nested stack.
    let mut old: Value = serde_json::from_str(&read(path)).unwrap();
    let resources = old["Resources"].as_object_mut().unwrap();
    let expression =
        resources["ScheduleNightlyCleanupSchedule"]["Properties"]["ScheduleExpression"].clone();
    resources.remove("ScheduleNightlyCleanupSchedule");
    resources.remove("ScheduleNightlyCleanupRole");
    let queue_arn = serde_json::json!({ "Fn::GetAtt": ["HandlerNightlyQueue", "Arn"] });
    let rule_arn = serde_json::json!({ "Fn::GetAtt": ["ScheduleNightlyCleanupRule", "Arn"] });
    resources.insert(
        "ScheduleNightlyCleanupRule".into(),
        serde_json::json!({
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": expression,
                "State": "ENABLED",
                "Targets": [{ "Arn": queue_arn, "Id": "handler" }],
            },
        }),
    );
    resources.insert(
        "HandlerNightlyQueuePolicy".into(),
        serde_json::json!({
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{ "Ref": "HandlerNightlyQueue" }],
                "PolicyDocument": { "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "events.amazonaws.com" },
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": { "ArnEquals": { "aws:SourceArn": rule_arn } },
                }] },
            },
        }),
    );

    // Uploaded with the code, and the parent pointed at it.
    let bucket = "eventfn-deploy-123456789012-us-east-1";
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let mut parent: Value = serde_json::from_str(&read(&paths[0])).unwrap();
    let mut uploads = vec![(
        "old/bootstrap.zip".to_owned(),
        std::fs::read(summary["files"]["zip"].as_str().unwrap()).unwrap(),
    )];
    for path in &paths[1..] {
        let id = path.file_stem().unwrap().to_str().unwrap();
        let body = if id == group {
            serde_json::to_vec(&old).unwrap()
        } else {
            std::fs::read(path).unwrap()
        };
        let key = format!("old/{id}.json");
        let stack = &mut parent["Resources"][id];
        stack["Properties"]["TemplateURL"] =
            format!("https://{bucket}.s3.us-east-1.amazonaws.com/{key}").into();
        // Rules needed no schedule group.
        stack.as_object_mut().unwrap().remove("DependsOn");
        uploads.push((key, body));
    }
    for (key, body) in uploads {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    // Once: moto answers an error of the stack's creation with a 500, which the SDK would retry.
    let once = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    once.create_stack()
        .stack_name("NightlyCleanupStaging")
        .template_body(serde_json::to_string(&parent).unwrap())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("CodeBucket")
                .parameter_value(bucket)
                .build(),
        )
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("CodeKey")
                .parameter_value("old/bootstrap.zip")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(&cf, "NightlyCleanupStaging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let schedule_rules = || async {
        eventbridge
            .list_rules()
            .send()
            .await
            .unwrap()
            .rules()
            .iter()
            .filter(|r| r.schedule_expression() == Some("cron(0 3 * * ? *)"))
            .count()
    };
    assert_eq!(schedule_rules().await, 1, "the old shape's rule");

    let updated = deploy(&moto, &["-p", "nightly-cleanup"]);
    assert_eq!(updated["result"], "updated");
    let changed = changes(&updated);
    for change in [
        ("Modify", group.clone()),
        ("Remove", format!("{group}/ScheduleNightlyCleanupRule")),
        ("Remove", format!("{group}/HandlerNightlyQueuePolicy")),
        ("Add", format!("{group}/ScheduleNightlyCleanupSchedule")),
        ("Add", format!("{group}/ScheduleNightlyCleanupRole")),
    ] {
        assert!(
            changed.contains(&(change.0.to_owned(), change.1.clone())),
            "{change:?} in {changed:?}"
        );
    }
    assert_eq!(
        status(&cf, "NightlyCleanupStaging").await.as_deref(),
        Some("UPDATE_COMPLETE")
    );
    assert_eq!(schedule_rules().await, 0, "the rule is gone");
    physical_id(&cf, "NightlyCleanupStaging", "ScheduleNightlyCleanupRole").await;
}
