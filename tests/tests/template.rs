//! `template.json` as `cargo eventfn build` writes it, for every example and fixture app:
//! `cfn-lint` (installed by `scripts/setup`) reports nothing on it — no error, no warning —,
//! checkov fails none of its checks (and every check the template skips says why), and it holds
//! the resources the app's handlers need.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::*;

/// The app's templates (`template.json` first, then its nested stacks), and all of them as one.
fn template(package: &str) -> (Vec<PathBuf>, Value) {
    let summary = build_ok(&["-p", package], &[]);
    (template_paths(&summary), flat_template(&summary))
}

/// cfn-lint reports nothing on any of `paths`, run once on them all.
fn cfn_lint_is_silent(paths: &[PathBuf]) {
    let lint = target_dir().join("tools/venv/bin/cfn-lint");
    assert!(
        lint.exists(),
        "cfn-lint is not installed in target/tools/venv: run `scripts/setup` (the README's test command does)"
    );
    let output = Command::new(lint).args(paths).output().unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "cfn-lint on {paths:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The checks a template may skip, each with its reason in the resource's `Metadata`:
/// `cargo-eventfn/src/template.rs` says why each does not fit.
const SKIPPABLE: [&str; 6] = [
    "CKV_AWS_27",  // a queue's KMS key: SQS-managed keys encrypt it
    "CKV_AWS_115", // reserved concurrency, where the handler sets no `concurrency`
    "CKV_AWS_116", // a Lambda-level dead-letter queue, which SQS-invoked functions never use
    "CKV_AWS_117", // a VPC
    "CKV_AWS_158", // a log group's customer managed key, without `kms_key`
    "CKV_AWS_173", // an environment's customer managed key, without `kms_key`
];

/// Runs checkov (installed by `scripts/setup` in a venv of its own) on the template at `path` and
/// checks that nothing failed and that every skipped check says why. Returns the IDs skipped.
fn checkov_passes(paths: &[PathBuf]) -> BTreeSet<String> {
    checkov_skips_by_file(paths)
        .into_values()
        .flatten()
        .collect()
}

/// [`checkov_passes`], run once on `paths` (checkov takes seconds to start): the IDs each file
/// skips, by the file's canonical path.
fn checkov_skips_by_file(
    paths: &[PathBuf],
) -> std::collections::BTreeMap<PathBuf, BTreeSet<String>> {
    let checkov = target_dir().join("tools/checkov/bin/checkov");
    assert!(
        checkov.exists(),
        "checkov is not installed in target/tools/checkov: run `scripts/setup` (the README's test command does)"
    );
    // --skip-download: offline, with no mapping of Prisma Cloud's IDs to fetch.
    let output = Command::new(checkov)
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ])
        .args(paths.iter().flat_map(|p| [Path::new("--file"), p]))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov on {paths:?} printed no report ({e}):\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let results = &report["results"];
    let failed: Vec<String> = results["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} on {}: {}",
                c["check_id"], c["resource"], c["check_name"]
            )
        })
        .collect();
    assert!(
        failed.is_empty() && output.status.success(),
        "checkov on {paths:?}: {} failed:\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["parsing_errors"], 0);
    assert!(report["summary"]["passed"].as_u64().unwrap() > 0);
    let mut skipped: std::collections::BTreeMap<PathBuf, BTreeSet<String>> = Default::default();
    for check in results["skipped_checks"].as_array().unwrap() {
        let id = check["check_id"].as_str().unwrap();
        let comment = check["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        // checkov's own words for a skip without a comment.
        assert!(
            comment.len() > 40 && comment != "No comment provided",
            "{id} on {} is skipped without its reason: {comment:?}",
            check["resource"]
        );
        assert!(
            SKIPPABLE.contains(&id),
            "{id} on {} is skipped: add it to SKIPPABLE if that is right",
            check["resource"]
        );
        let file = check["file_abs_path"].as_str().unwrap();
        let file = std::fs::canonicalize(file).unwrap_or_else(|_| PathBuf::from(file));
        skipped.entry(file).or_default().insert(id.to_owned());
    }
    skipped
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn welcome_has_what_its_handlers_need_and_lints_clean() {
    let (paths, template) = template("welcome");
    cfn_lint_is_silent(&paths);
    let count = |kind| of_type(&template, kind).len();
    // Two events, one queue; six handlers, each with a function, a role, a log group, a source
    // queue (the app queue for `thumbnail`) and a dead-letter queue; and the delay queue with its
    // dead letters, function, role, log group and parameter, the scheduler's role and the
    // schedule group.
    assert_eq!(count("AWS::SNS::Topic"), 2);
    assert_eq!(count("AWS::Lambda::Function"), 7);
    // A role per function, the delay scheduler's, and one per schedule.
    assert_eq!(count("AWS::IAM::Role"), 10);
    assert_eq!(count("AWS::Logs::LogGroup"), 7);
    assert_eq!(count("AWS::Lambda::EventSourceMapping"), 7);
    assert_eq!(count("AWS::SQS::Queue"), 14);
    assert_eq!(count("AWS::SNS::Subscription"), 3);
    assert_eq!(count("AWS::Events::Rule"), 0);
    assert_eq!(count("AWS::Scheduler::Schedule"), 2);
    assert_eq!(count("AWS::SSM::Parameter"), 4);
    assert_eq!(count("AWS::Scheduler::ScheduleGroup"), 1);
    // What every function may publish to, shared.
    assert_eq!(count("AWS::IAM::ManagedPolicy"), 1);

    let resources = &template["Resources"];
    // audit: retries = 3 → its queue redrives after 4 receives; timeout 10 s → visibility 60 s.
    let audit = &resources["HandlerAuditQueue"]["Properties"];
    assert_eq!(audit["RedrivePolicy"]["maxReceiveCount"], 4);
    assert_eq!(audit["VisibilityTimeout"], 60);
    let variables = &resources["HandlerAuditFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["EVENTFN_HANDLER"], "welcome::audit");
    // Its last failed attempt, the 4th, goes to its own dead letters with why; its role may
    // send there.
    assert_eq!(variables["EVENTFN_ATTEMPTS"], "4");
    assert_eq!(
        variables["EVENTFN_DEAD_LETTERS"],
        serde_json::json!({ "Ref": "HandlerAuditDeadLetters" })
    );
    assert!(
        statements(resources, "HandlerAuditRole").contains(&serde_json::json!({
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": { "Fn::GetAtt": ["HandlerAuditDeadLetters", "Arn"] },
        }))
    );
    let schedule = &resources["ScheduleNoonReportSchedule"]["Properties"];
    assert_eq!(schedule["ScheduleExpression"], "cron(0 12 ? * MON-FRI *)");

    // Least privilege: nothing on every resource.
    for path in &paths {
        let text = read(path);
        assert!(!text.contains(r#""Resource": "*""#), "no wildcard resource");
    }
    for (id, _) in of_type(&template, "AWS::IAM::Role") {
        for statement in statements(resources, id) {
            assert_ne!(statement["Resource"], "*", "{statement}");
        }
    }
}

/// The statements of the role `role`: of its own policy, and of the managed policies of the
/// app it has (listed, or joined into the list a nested stack takes).
fn statements(resources: &Value, role: &str) -> Vec<Value> {
    let properties = &resources[role]["Properties"];
    let mut statements = properties["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let managed = &properties["ManagedPolicyArns"];
    let managed = managed["Fn::Join"][1].as_array().or(managed.as_array());
    for policy in managed.into_iter().flatten() {
        let id = policy["Ref"].as_str().unwrap();
        assert_eq!(resources[id]["Type"], "AWS::IAM::ManagedPolicy", "{id}");
        statements.extend(
            resources[id]["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .cloned(),
        );
    }
    statements
}

#[test]
fn delays_wait_in_the_delay_queue_and_schedules_that_may_do_nothing_else() {
    let (_, template) = template("welcome");
    let resources = &template["Resources"];
    let arn_of = |id: &str| serde_json::json!({ "Fn::GetAtt": [id, "Arn"] });

    // The scheduler's role: assumed by EventBridge Scheduler for this account only, and allowed
    // to send to the delay queue and its dead letters, nothing more.
    let scheduler = &resources["SchedulerRole"]["Properties"];
    assert_eq!(
        scheduler["AssumeRolePolicyDocument"]["Statement"],
        serde_json::json!([{
            "Effect": "Allow",
            "Principal": { "Service": "scheduler.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } } },
        }])
    );
    assert_eq!(
        statements(resources, "SchedulerRole"),
        [serde_json::json!({
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": [arn_of("DelayQueue"), arn_of("DelayDeadLetters")],
        })]
    );
    assert_eq!(
        resources["DelaySchedules"]["Properties"]["Name"],
        serde_json::json!({ "Ref": "AWS::StackName" })
    );

    // Every function may create schedules in this stack's group only, pass the scheduler's role
    // to the scheduler only, and send to the delay queue.
    let functions = of_type(&template, "AWS::Lambda::Function");
    for (id, function) in &functions {
        let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        let statements = statements(resources, role);
        let with = |action: &str| -> Vec<&Value> {
            statements
                .iter()
                .filter(|s| s["Action"] == action)
                .collect()
        };
        assert_eq!(
            with("scheduler:CreateSchedule")[0]["Resource"],
            serde_json::json!({ "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${AWS::StackName}/*" }),
            "{id}"
        );
        let pass = with("iam:PassRole");
        assert_eq!(pass.len(), 1, "{id}");
        assert_eq!(pass[0]["Resource"], arn_of("SchedulerRole"), "{id}");
        assert_eq!(
            pass[0]["Condition"],
            serde_json::json!({ "StringEquals": { "iam:PassedToService": "scheduler.amazonaws.com" } })
        );
        let sends = with("sqs:SendMessage");
        assert!(
            sends.iter().any(|send| send["Resource"]
                .as_array()
                .is_some_and(|r| r.contains(&arn_of("DelayQueue")))),
            "{id}"
        );
        let variables = &function["Properties"]["Environment"]["Variables"];
        assert_eq!(
            variables["EVENTFN_DELAY"]["Fn::Sub"],
            r#"{"queue":"${DelayQueue}","queueArn":"${DelayQueue.Arn}","group":"${AWS::StackName}","role":"${SchedulerRole.Arn}","deadLettersArn":"${DelayDeadLetters.Arn}"}"#,
            "{id}"
        );
    }

    // The delay queue is read by the app's binary as `@delayed`, and keeps what it cannot send
    // on in its own dead letters.
    let delay = &resources["DelayFunction"]["Properties"];
    assert_eq!(
        delay["Environment"]["Variables"]["EVENTFN_HANDLER"],
        "@delayed"
    );
    assert_eq!(
        resources["DelayMapping"]["Properties"]["EventSourceArn"],
        arn_of("DelayQueue")
    );
    assert_eq!(
        resources["DelayMapping"]["Properties"]["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    let queue = &resources["DelayQueue"]["Properties"];
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        arn_of("DelayDeadLetters")
    );
    assert_eq!(
        queue["VisibilityTimeout"],
        6 * delay["Timeout"].as_u64().unwrap()
    );
    // Its role reads the delay queue, not a handler's.
    let reads: Vec<Value> = statements(resources, "DelayRole")
        .into_iter()
        .filter(|s| s["Action"][0] == "sqs:ReceiveMessage")
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0]["Resource"], arn_of("DelayQueue"));
}

#[test]
fn the_same_app_gives_the_same_bytes() {
    let (paths, _) = template("fixture-basic");
    let first: Vec<String> = paths.iter().map(read).collect();
    let (paths, _) = template("fixture-basic");
    assert_eq!(first, paths.iter().map(read).collect::<Vec<_>>());
}

/// The apps whose templates are checked whole: welcome first.
const EVERY_APP: &[&str] = &[
    "welcome",
    "fixture-basic",
    "fixture-sandbox-app",
    "fixture-lambda-app",
    "user-joined",
    "nightly-cleanup",
    "budget-analysis",
    "background-task",
];

#[test]
fn every_fixture_lints_clean() {
    // welcome's is linted above, with its expected resources. One run for all: cfn-lint takes
    // seconds to start.
    let paths: Vec<PathBuf> = EVERY_APP[1..]
        .iter()
        .flat_map(|package| template(package).0)
        .collect();
    cfn_lint_is_silent(&paths);
}

#[test]
fn every_fixture_passes_checkov_saying_why_it_skips_what_it_skips() {
    let apps: Vec<(&str, Vec<PathBuf>)> = EVERY_APP
        .iter()
        .map(|&package| (package, template(package).0))
        .collect();
    let all: Vec<PathBuf> = apps.iter().flat_map(|(_, paths)| paths.clone()).collect();
    let by_file = checkov_skips_by_file(&all);
    for (package, paths) in &apps {
        let skipped: BTreeSet<&String> = paths
            .iter()
            .filter_map(|p| by_file.get(&std::fs::canonicalize(p).unwrap()))
            .flatten()
            .collect();
        // Without `kms_key`, log groups and environments say why they have no key of their own.
        for id in ["CKV_AWS_158", "CKV_AWS_173"] {
            assert!(
                skipped.iter().any(|s| *s == id),
                "{package}: {id} not skipped: {skipped:?}"
            );
        }
    }
}

/// fixture-basic again, as an app of its own with `kms_key` set: built into the shared target dir
/// with the workspace's lock file and profiles, so only eventfn's own crates and the app compile
/// again.
fn basic_with_kms_key(key: &str) -> (Vec<PathBuf>, Value) {
    let basic = root().join("tests/fixtures/basic");
    let dir = target_dir().join("eventfn-tests/basic-kms");
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = read(basic.join("Cargo.toml"));
    let manifest = manifest
        .replace(r#"name = "fixture-basic""#, r#"name = "basic-kms""#)
        .replace("edition.workspace = true", r#"edition = "2024""#)
        .replace(
            r#"app = "basic-app""#,
            &format!("app = \"basic-kms\"\nkms_key = \"{key}\""),
        )
        .replace(r#"path = ""#, &format!(r#"path = "{}/"#, basic.display()));
    assert!(manifest.contains("kms_key"), "{manifest}");
    let workspace = read(root().join("Cargo.toml"));
    let profiles = &workspace[workspace.find("[profile.").unwrap()..];
    let manifest = format!(
        "{manifest}\n[[bin]]\nname = \"basic-kms\"\npath = \"{}/src/main.rs\"\n\n[workspace]\n\n{profiles}",
        basic.display()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let manifest_path = dir.join("Cargo.toml");
    let target = target_dir();
    let summary = build_ok(
        &["--manifest-path", manifest_path.to_str().unwrap()],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    (template_paths(&summary), flat_template(&summary))
}

#[test]
fn a_kms_key_encrypts_logs_and_environments_and_passes_checkov_without_their_skips() {
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let (paths, template) = basic_with_kms_key(key);
    cfn_lint_is_silent(&paths);
    let skipped = checkov_passes(&paths);
    assert!(!skipped.contains("CKV_AWS_158"), "{skipped:?}");
    assert!(!skipped.contains("CKV_AWS_173"), "{skipped:?}");

    let groups = of_type(&template, "AWS::Logs::LogGroup");
    assert_eq!(groups.len(), 13, "twelve handlers and the delay function");
    for (id, group) in groups {
        assert_eq!(group["Properties"]["KmsKeyId"], key, "{id}");
    }
    for (id, function) in of_type(&template, "AWS::Lambda::Function") {
        assert_eq!(function["Properties"]["KmsKeyArn"], key, "{id}");
        // Lambda decrypts the environment with the function's role.
        let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        assert!(
            statements(&template["Resources"], role).contains(&serde_json::json!({
                "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
            })),
            "{role}"
        );
    }
}

#[test]
fn a_filtered_handler_subscribes_with_its_filter_on_the_message_body() {
    let (paths, template) = template("fixture-basic");
    cfn_lint_is_silent(&paths);
    let subscriptions = of_type(&template, "AWS::SNS::Subscription");
    // One per event handler: four in the app, two in fixture-lib.
    assert_eq!(subscriptions.len(), 6);
    let mut filtered = Vec::new();
    for (id, subscription) in subscriptions {
        let properties = &subscription["Properties"];
        // RawMessageDelivery: the queue receives the payload itself, which the policy reads.
        assert_eq!(properties["RawMessageDelivery"], true, "{id}");
        match properties.get("FilterPolicy") {
            Some(policy) => {
                assert_eq!(properties["FilterPolicyScope"], "MessageBody", "{id}");
                filtered.push((id.as_str(), policy.clone()));
            }
            None => assert!(properties.get("FilterPolicyScope").is_none(), "{id}"),
        }
    }
    // As written on `#[event("user.joined", filter = ...)]`, and as in eventfn.json.
    assert_eq!(
        filtered,
        [(
            "HandlerContextOnlySubscription",
            serde_json::json!({"plan": [{"anything-but": "trial"}], "seats": [{"numeric": [">", 1]}]})
        )]
    );
}

/// A `#[rule]`: an EventBridge rule on its bus with its pattern, targeting the handler's own
/// queue with a retry policy and the handler's dead letters, each queue letting only that rule
/// send; a bus of the app's own is created and found through SSM; `default` is left implicit.
#[test]
fn rules_listen_on_their_bus_and_send_to_their_handlers_queue() {
    let (_, template) = template("fixture-basic");
    let resources = &template["Resources"];
    let buses = of_type(&template, "AWS::Events::EventBus");
    assert_eq!(buses.len(), 1, "only `budgets` is the app's own");
    assert_eq!(buses[0].0, "BusBudgets");
    assert_eq!(
        buses[0].1["Properties"]["Name"],
        serde_json::json!({"Fn::Sub": "${AWS::StackName}-budgets"})
    );
    assert_eq!(
        resources["BusBudgetsParameter"]["Properties"]["Name"],
        serde_json::json!({"Fn::Sub": "/${AWS::StackName}/buses/budgets"})
    );

    for (rule, handler, bus, pattern) in [
        (
            "RuleBigBudgetsRule",
            "HandlerAnalyse",
            Some(serde_json::json!({"Fn::GetAtt": ["BusBudgets", "Name"]})),
            serde_json::json!({"detail-type": ["BUDGET_ANALYSIS"], "detail": {"amount": [{"numeric": [">=", 10000]}]}}),
        ),
        (
            "RuleOnUploadRule",
            "HandlerOnUpload",
            None,
            serde_json::json!({"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["uploads"]}}}),
        ),
    ] {
        let properties = &resources[rule]["Properties"];
        assert_eq!(resources[rule]["Type"], "AWS::Events::Rule", "{rule}");
        assert_eq!(properties.get("EventBusName"), bus.as_ref(), "{rule}");
        assert_eq!(properties["EventPattern"], pattern, "{rule}");
        let queue = format!("{handler}Queue");
        let dead = format!("{handler}DeadLetters");
        assert_eq!(
            properties["Targets"],
            serde_json::json!([{
                "Arn": {"Fn::GetAtt": [queue, "Arn"]},
                "Id": "handler",
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dead, "Arn"]}},
            }]),
            "{rule}"
        );
        for (policy, target) in [
            (format!("{handler}QueuePolicy"), &queue),
            (format!("{handler}DeadLettersPolicy"), &dead),
        ] {
            let document = &resources[&policy]["Properties"]["PolicyDocument"];
            assert_eq!(
                document["Statement"],
                serde_json::json!([{
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": {"Fn::GetAtt": [target, "Arn"]},
                    "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}},
                }]),
                "{policy}"
            );
        }
    }
}

/// A schedule: an EventBridge Scheduler schedule in the stack's group, read in its zone, with its
/// flexible window, sending to its handler's queue (retried as a rule's target, then its dead
/// letters) an event shaped like a schedule rule's, with a role that may send there only.
#[test]
fn schedules_are_scheduler_schedules_in_their_zone_sending_to_their_handlers_queue() {
    let (paths, template) = template("nightly-cleanup");
    cfn_lint_is_silent(&paths);
    let resources = &template["Resources"];
    let schedules = of_type(&template, "AWS::Scheduler::Schedule");
    assert_eq!(schedules.len(), 1);
    let (id, schedule) = schedules[0];
    assert_eq!(id, "ScheduleNightlyCleanupSchedule");
    let properties = &schedule["Properties"];
    assert_eq!(properties["ScheduleExpression"], "cron(0 3 * * ? *)");
    assert_eq!(properties["ScheduleExpressionTimezone"], "Europe/Amsterdam");
    assert_eq!(
        properties["FlexibleTimeWindow"],
        serde_json::json!({ "Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30 })
    );
    // The group, named after the stack, which the nested stack waits for.
    assert_eq!(
        properties["GroupName"],
        serde_json::json!({ "Ref": "AWS::StackName" })
    );
    assert_eq!(
        resources["DelaySchedules"]["Properties"]["Name"],
        serde_json::json!({ "Ref": "AWS::StackName" })
    );
    let target = &properties["Target"];
    assert_eq!(
        target["Arn"],
        serde_json::json!({ "Fn::GetAtt": ["HandlerNightlyQueue", "Arn"] })
    );
    assert_eq!(
        target["RoleArn"],
        serde_json::json!({ "Fn::GetAtt": ["ScheduleNightlyCleanupRole", "Arn"] })
    );
    assert_eq!(
        target["RetryPolicy"],
        serde_json::json!({ "MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400 })
    );
    assert_eq!(
        target["DeadLetterConfig"],
        serde_json::json!({ "Arn": { "Fn::GetAtt": ["HandlerNightlyDeadLetters", "Arn"] } })
    );
    // What the handler's queue receives reads as a schedule rule's event, due at its time.
    let input = target["Input"]["Fn::Sub"].as_str().unwrap();
    let input: Value = serde_json::from_str(input).unwrap();
    assert_eq!(input["source"], "aws.scheduler");
    assert_eq!(input["detail-type"], "Scheduled Event");
    assert_eq!(input["time"], "<aws.scheduler.scheduled-time>");
    // The schedule's role: assumed by Scheduler for this account, sending to that queue and
    // its dead letters only; the queue needs no policy of its own.
    let role = &resources["ScheduleNightlyCleanupRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "scheduler.amazonaws.com"
    );
    assert_eq!(
        statements(resources, "ScheduleNightlyCleanupRole"),
        [serde_json::json!({
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": [
                { "Fn::GetAtt": ["HandlerNightlyQueue", "Arn"] },
                { "Fn::GetAtt": ["HandlerNightlyDeadLetters", "Arn"] },
            ],
        })]
    );
    assert!(resources.get("HandlerNightlyQueuePolicy").is_none());
    assert!(of_type(&template, "AWS::Events::Rule").is_empty());
}
