//! End to end against moto server (installed by `scripts/setup`, one per test on a free loopback
//! port): `cargo eventfn deploy` and `cargo eventfn destroy` on `examples/welcome` and
//! `tests/fixtures/deploy-app` (app `shop`).
//!
//! moto reports some resource types as created without creating them (SNS subscriptions, SQS
//! queue policies): the tests assert on what the services hold, not on the stack status alone.

mod support;

use std::collections::BTreeSet;
use std::process::Output;
use std::sync::Mutex;

use serde_json::Value;
use support::*;

/// Deploys build the same fixture with and without a feature: one at a time, so no build
/// overwrites the binary another is reading.
static DEPLOYS: Mutex<()> = Mutex::new(());

/// Resource types moto accepts in a template but does not create.
const SKIPPED_BY_MOTO: [&str; 3] = [
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::Scheduler::ScheduleGroup",
];

/// `cargo eventfn <args>` against `moto`, with test credentials and nothing from the host's AWS
/// configuration.
///
/// A deploy is of a debug build (`--debug`): moto takes any size, and the tests build debug.
fn run(moto: &Moto, args: &[&str]) -> Output {
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
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
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

fn template(app: &str) -> Value {
    let path = target_dir().join("eventfn").join(app).join("template.json");
    serde_json::from_str(&read(path)).unwrap()
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

/// Whether the deployment bucket exists (moto does not check signatures, so a plain request
/// does).
fn bucket_exists(moto: &Moto) -> bool {
    let url = format!("{}/eventfn-deploy-123456789012-us-east-1", moto.endpoint);
    match ureq::head(&url).call() {
        Ok(_) => true,
        Err(ureq::Error::StatusCode(404)) => false,
        Err(err) => panic!("HEAD {url}: {err}"),
    }
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
    let listed = cf
        .list_stack_resources()
        .stack_name("WelcomeStaging")
        .send()
        .await
        .unwrap();
    let deployed: BTreeSet<String> = listed
        .stack_resource_summaries()
        .iter()
        .filter_map(|r| r.logical_resource_id())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(deployed, expected);
    assert_eq!(
        expected.len(),
        51,
        "welcome's 60 resources, less 3 subscriptions, 5 queue policies and the schedule group"
    );

    // Every topic, queue and function is printed, with its address.
    let outputs = summary["outputs"].as_object().unwrap();
    let output_keys: BTreeSet<&String> = outputs.keys().collect();
    let template_outputs: BTreeSet<&String> =
        template["Outputs"].as_object().unwrap().keys().collect();
    assert_eq!(output_keys, template_outputs);
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
    sns.publish()
        .topic_arn(topic)
        .message(r#"{"email":"ada@example.com"}"#)
        .send()
        .await
        .unwrap();
    let received = sqs
        .receive_message()
        .queue_url(probe_url)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        received.messages()[0].body(),
        Some(r#"{"email":"ada@example.com"}"#)
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
        said.contains(": 2 AWS::Events::Rule, 8 AWS::IAM::Role"),
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

    // The handler's function and the visibility timeout of its queue (6 × the timeout).
    let expected = BTreeSet::from([
        (
            "Modify".to_owned(),
            "HandlerNotifyWarehouseFunction".to_owned(),
        ),
        (
            "Modify".to_owned(),
            "HandlerNotifyWarehouseQueue".to_owned(),
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
    let deployed = cf
        .get_template()
        .stack_name("ShopStaging")
        .send()
        .await
        .unwrap();
    let deployed: Value = serde_json::from_str(deployed.template_body().unwrap()).unwrap();
    let function = &deployed["Resources"]["HandlerNotifyWarehouseFunction"]["Properties"];
    assert_eq!(function["Timeout"], 20);
    assert_eq!(
        deployed["Resources"]["HandlerRecordOrderFunction"]["Properties"]["Timeout"],
        5
    );

    let unchanged = deploy(&moto, &["-p", "fixture-deploy-app", "-F", "slower"]);
    assert_eq!(unchanged["result"], "unchanged");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_past_the_inline_limit_goes_through_s3() {
    let moto = Moto::start();
    let cf = cloudformation(&moto.config().await);

    let created = deploy(&moto, &["-p", "fixture-big-app"]);
    assert_eq!(created["result"], "created");
    let compact = serde_json::to_string(&template("big")).unwrap();
    assert!(compact.len() > 51_200, "{} bytes", compact.len());
    let url = created["template_url"].as_str().unwrap();
    let key = url
        .strip_prefix("https://eventfn-deploy-123456789012-us-east-1.s3.us-east-1.amazonaws.com/")
        .unwrap();
    assert!(
        key.starts_with("big/template-") && key.ends_with(".json"),
        "{url}"
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.config().await)
            .force_path_style(true)
            .build(),
    );
    let object = s3
        .get_object()
        .bucket("eventfn-deploy-123456789012-us-east-1")
        .key(key)
        .send()
        .await
        .unwrap();
    let uploaded = object.body.collect().await.unwrap().into_bytes();
    let uploaded = String::from_utf8(uploaded.to_vec()).unwrap();
    assert_eq!(uploaded, compact);
    assert_eq!(
        status(&cf, "BigStaging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    let functions = created["outputs"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| key.ends_with("Function"))
        .count();
    assert_eq!(functions, 18);

    let again = deploy(&moto, &["-p", "fixture-big-app"]);
    assert_eq!(again["result"], "unchanged");
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
    assert!(added.contains(&("Add".to_owned(), "HandlerPrintReceiptFunction".to_owned())));

    assert_eq!(status(&cf, "ShopStaging").await, None);
    assert!(!bucket_exists(&moto), "nothing was uploaded");
}

/// The physical id (a queue's URL) of a stack resource.
async fn physical_id(cf: &aws_sdk_cloudformation::Client, stack: &str, logical: &str) -> String {
    let listed = cf
        .list_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    listed
        .stack_resource_summaries()
        .iter()
        .find(|r| r.logical_resource_id() == Some(logical))
        .and_then(|r| r.physical_resource_id())
        .unwrap_or_else(|| panic!("no resource {logical} in {stack}"))
        .to_owned()
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
