//! `template.json` as `cargo eventfn build` writes it, for every example and fixture app:
//! `cfn-lint` (installed by `scripts/setup`) reports nothing on it — no error, no warning — and it
//! holds the resources the app's handlers need.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::*;

fn template(package: &str) -> (PathBuf, Value) {
    let summary = build_ok(&["-p", package], &[]);
    let path = PathBuf::from(summary["files"]["template"].as_str().unwrap());
    let template = serde_json::from_str(&read(&path)).unwrap();
    (path, template)
}

fn cfn_lint_is_silent(path: &PathBuf) {
    let lint = target_dir().join("tools/venv/bin/cfn-lint");
    assert!(
        lint.exists(),
        "cfn-lint is not installed in target/tools/venv: run `scripts/setup` (the README's test command does)"
    );
    let output = Command::new(lint).arg(path).output().unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty(),
        "cfn-lint on {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
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
    let (path, template) = template("welcome");
    cfn_lint_is_silent(&path);
    let count = |kind| of_type(&template, kind).len();
    // Two events, one queue; six handlers, each with a function, a role, a log group, a source
    // queue (the app queue for `thumbnail`) and a dead-letter queue.
    assert_eq!(count("AWS::SNS::Topic"), 2);
    assert_eq!(count("AWS::Lambda::Function"), 6);
    assert_eq!(count("AWS::IAM::Role"), 6);
    assert_eq!(count("AWS::Logs::LogGroup"), 6);
    assert_eq!(count("AWS::Lambda::EventSourceMapping"), 6);
    assert_eq!(count("AWS::SQS::Queue"), 12);
    assert_eq!(count("AWS::SNS::Subscription"), 3);
    assert_eq!(count("AWS::Events::Rule"), 2);
    assert_eq!(count("AWS::SSM::Parameter"), 3);

    let resources = &template["Resources"];
    // audit: retries = 3 → its queue redrives after 4 receives; timeout 10 s → visibility 60 s.
    let audit = &resources["HandlerAuditQueue"]["Properties"];
    assert_eq!(audit["RedrivePolicy"]["maxReceiveCount"], 4);
    assert_eq!(audit["VisibilityTimeout"], 60);
    assert_eq!(
        resources["HandlerAuditFunction"]["Properties"]["Environment"]["Variables"]["EVENTFN_HANDLER"],
        "welcome::audit"
    );
    let schedule = &resources["ScheduleNoonReportRule"]["Properties"];
    assert_eq!(schedule["ScheduleExpression"], "cron(0 12 ? * MON-FRI *)");

    // Least privilege: nothing on every resource.
    let text = read(&path);
    assert!(!text.contains(r#""Resource": "*""#), "no wildcard resource");
    for (_, role) in of_type(&template, "AWS::IAM::Role") {
        for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
        {
            assert_ne!(statement["Resource"], "*", "{statement}");
        }
    }
}

#[test]
fn the_same_app_gives_the_same_bytes() {
    let (path, _) = template("fixture-basic");
    let first = read(&path);
    let (path, _) = template("fixture-basic");
    assert_eq!(first, read(&path));
}

#[test]
fn every_fixture_lints_clean() {
    for package in ["fixture-basic", "fixture-sandbox-app", "fixture-lambda-app"] {
        let (path, _) = template(package);
        cfn_lint_is_silent(&path);
    }
}
