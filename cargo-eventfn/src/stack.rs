//! A stage's CloudFormation stack: its name, the limits its name puts on the names inside it,
//! and the watch over its events while CloudFormation works on it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::{Result, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Stack, StackEvent, TemplateStage};
use eventfn_core::logical::logical_id;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use crate::aws::Session;
use crate::shell::Shell;

/// The default stage, as in Architect.
pub const DEFAULT_STAGE: &str = "staging";

/// How often a stack is polled while CloudFormation works on it.
const POLL: Duration = Duration::from_secs(2);

/// Checks a stage name: it becomes part of the stack name and of every function's name, so it
/// takes only what both accept.
pub fn check_stage(stage: &str) -> Result<()> {
    let mut chars = stage.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if let Some(bad) = stage
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        bail!(
            "invalid stage `{stage}`: `{bad}` is not allowed; a stage name has letters, digits \
             and `-`, and starts with a letter (e.g. `staging`, `production`, `pr-42`)"
        );
    }
    if !starts_with_letter {
        bail!("invalid stage `{stage}`: a stage name starts with a letter (e.g. `staging`)");
    }
    if stage.len() > 32 {
        bail!(
            "invalid stage `{stage}`: {} characters, at most 32 (it is part of every function's \
             name, which AWS limits to 64)",
            stage.len()
        );
    }
    Ok(())
}

/// The stack of an app's stage, named as Architect names them: `welcome` at `staging` is
/// `WelcomeStaging`.
pub fn stack_name(app: &str, stage: &str) -> String {
    format!("{}{}", logical_id(app), logical_id(stage))
}

/// Checks the names the template gives resources (`FunctionName`, `QueueName`, filled in with
/// the stack's name) against AWS's limits, so a long app or stage name fails here, naming the
/// resource, rather than half-way through a deployment.
pub fn check_names(template: &Value, stack: &str) -> Result<()> {
    let mut problems = Vec::new();
    let Some(resources) = template["Resources"].as_object() else {
        bail!("the template has no Resources");
    };
    for (id, resource) in resources {
        for (property, limit) in [("FunctionName", 64), ("QueueName", 80)] {
            let Some(pattern) = resource["Properties"][property]["Fn::Sub"].as_str() else {
                continue;
            };
            let name = pattern.replace("${AWS::StackName}", stack);
            if name.len() > limit {
                problems.push(format!(
                    "{id}: {property} `{name}` has {} characters, AWS allows {limit}",
                    name.len()
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "the stack name `{stack}` makes names too long for AWS:\n  {}\nUse a shorter stage \
             name, or a shorter `app` in [package.metadata.eventfn]",
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// The stack, or `None` when it does not exist.
pub async fn describe(session: &Session, cf: &Client, stack: &str) -> Result<Option<Stack>> {
    match cf.describe_stacks().stack_name(stack).send().await {
        Ok(output) => Ok(output.stacks().first().cloned()),
        Err(err) => {
            use aws_sdk_cloudformation::error::ProvideErrorMetadata as _;
            if err.code() == Some("ValidationError")
                && err.message().is_some_and(|m| m.contains("does not exist"))
            {
                return Ok(None);
            }
            Err(session.explain(&format!("could not look up stack `{stack}`"), err))
        }
    }
}

pub fn status(stack: &Stack) -> &str {
    stack.stack_status().map_or("UNKNOWN", |s| s.as_str())
}

/// CloudFormation is working on the stack.
pub fn in_progress(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
}

/// A deployed app: its templates as one ([`crate::template::flatten`]) and the physical ID of
/// each resource, across the parent stack and its nested stacks.
pub struct DeployedApp {
    pub template: Value,
    pub physical: HashMap<String, String>,
    /// Each nested stack's template, by its logical ID in the parent.
    pub nested: BTreeMap<String, Value>,
}

/// Reads the stack `stack` and its nested stacks; `template` is `None` when a template is not
/// JSON (the stack was not made by eventfn).
pub async fn deployed_app(session: &Session, cf: &Client, stack: &str) -> Result<DeployedApp> {
    let template = |stack: String| async move {
        let body = cf
            .get_template()
            .stack_name(&stack)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| session.explain(&format!("could not read the template of `{stack}`"), e))?
            .template_body
            .unwrap_or_default();
        serde_json::from_str::<Value>(&body).map_err(|e| {
            anyhow::anyhow!(
                "the template of stack `{stack}` is not JSON ({e}); was it deployed by cargo \
                 eventfn?"
            )
        })
    };
    let parent = template(stack.to_owned()).await?;
    let mut physical = HashMap::new();
    let mut nested = BTreeMap::new();
    for resource in crate::deploy::resources(session, cf, stack).await? {
        let Some(id) = resource.physical_id else {
            continue;
        };
        if resource.resource_type == "AWS::CloudFormation::Stack" {
            for inner in crate::deploy::resources(session, cf, &id).await? {
                if let Some(inner_id) = inner.physical_id {
                    physical.insert(inner.logical_id, inner_id);
                }
            }
            nested.insert(resource.logical_id.clone(), template(id.clone()).await?);
        }
        physical.insert(resource.logical_id, id);
    }
    Ok(DeployedApp {
        template: crate::template::flatten(&parent, &nested),
        physical,
        nested,
    })
}

/// The newest event of the stack, so a watch shows only what comes after it.
pub async fn newest_event(
    session: &Session,
    cf: &Client,
    stack_id: &str,
) -> Result<Option<String>> {
    let output = cf
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| session.explain("could not read the stack's events", e))?;
    Ok(output
        .stack_events()
        .first()
        .and_then(|e| e.event_id().map(str::to_owned)))
}

/// A resource that failed, from the stack's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) {}: {}",
            self.logical_id, self.resource_type, self.status, self.reason
        )
    }
}

/// What a watched operation ended with.
pub struct Outcome {
    pub status: String,
    /// Failed resources in the order they failed; the first is usually the cause, the rest
    /// were cancelled because of it.
    pub failures: Vec<Failure>,
}

/// Shows the stack's events as CloudFormation works (lines above a spinner on a terminal, plain
/// lines otherwise) until the stack is no longer in progress.
pub struct Watch<'a> {
    shell: &'a Shell,
    bar: Option<ProgressBar>,
    seen: HashSet<String>,
    /// Events up to this one happened before the watch.
    since: Option<String>,
    done: usize,
    total: usize,
    failures: Vec<Failure>,
    /// An event of the stack itself came after `since`: the operation has begun, so a status
    /// that is no longer in progress is its end, not the state before it.
    started: bool,
    /// The nested stacks seen in the stack's events: physical ID → logical ID.
    nested: BTreeMap<String, String>,
    /// When the first event of this operation happened: a nested stack's events before it are
    /// from earlier operations.
    start: Option<aws_sdk_cloudformation::primitives::DateTime>,
}

/// How long a watch waits for CloudFormation to begin an operation it was asked for.
const START_TIMEOUT: Duration = Duration::from_secs(120);

impl<'a> Watch<'a> {
    /// `total` is how many resources the operation touches, for the progress display.
    pub fn new(shell: &'a Shell, since: Option<String>, total: usize) -> Watch<'a> {
        let bar = (!shell.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.green} {elapsed:>4} {msg}")
                    .expect("a valid progress template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Watch {
            shell,
            bar,
            seen: HashSet::new(),
            since,
            done: 0,
            total,
            failures: Vec::new(),
            started: false,
            nested: BTreeMap::new(),
            start: None,
        }
    }

    /// Also watches the nested stacks `nested` (physical ID → logical ID).
    pub fn with_nested(mut self, nested: BTreeMap<String, String>) -> Watch<'a> {
        self.nested = nested;
        self
    }

    /// Shows `event`; `group` is the nested stack it happened in, if any.
    fn line(&self, event: &StackEvent, group: Option<&str>) {
        let status = event.resource_status().map_or("", |s| s.as_str());
        let id = match group {
            Some(group) => format!("{group}/{}", event.logical_resource_id().unwrap_or("?")),
            None => event.logical_resource_id().unwrap_or("?").to_owned(),
        };
        let kind = event.resource_type().unwrap_or("?");
        let reason = event.resource_status_reason().unwrap_or("");
        let is_stack = kind == "AWS::CloudFormation::Stack";
        let (verb, quiet) = verb(status);
        let print = || {
            let what = if is_stack {
                format!("stack {id}")
            } else {
                format!("{id} ({kind})")
            };
            let message = if reason.is_empty() || reason == "User Initiated" {
                what
            } else {
                format!("{what}: {reason}")
            };
            if status.ends_with("_FAILED") {
                self.shell.failure(verb, message);
            } else if quiet && !is_stack {
                self.shell.verbose(verb, message);
            } else {
                self.shell.status(verb, message);
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Polls until the stack `stack_id` is no longer in progress.
    pub async fn run(mut self, session: &Session, cf: &Client, stack_id: &str) -> Result<Outcome> {
        let began = std::time::Instant::now();
        loop {
            // The status first: events read after it include everything up to it.
            let stack = describe(session, cf, stack_id).await?;
            let status = stack.as_ref().map_or("DELETE_COMPLETE", status).to_owned();
            self.show_new_events(session, cf, stack_id, None).await?;
            // Nested stacks, also those whose own events the parent does not list (emulators).
            // Not while the stack is deleted: moto makes a deleted stack's resources anew when
            // they are listed, and the caller names the nested stacks it deletes.
            let deleting = status.starts_with("DELETE_");
            if !deleting
                && let Ok(resources) = crate::deploy::resources(session, cf, stack_id).await
            {
                for resource in resources {
                    if resource.resource_type == "AWS::CloudFormation::Stack"
                        && let Some(physical) = resource.physical_id.filter(|p| !p.is_empty())
                    {
                        self.nested.insert(physical, resource.logical_id);
                    }
                }
            }
            let nested: Vec<(String, String)> = self
                .nested
                .iter()
                .map(|(physical, logical)| (physical.clone(), logical.clone()))
                .collect();
            for (physical, logical) in nested {
                self.show_new_events(session, cf, &physical, Some(&logical))
                    .await?;
            }
            if let Some(bar) = &self.bar {
                bar.set_message(format!(
                    "{stack_id_short}: {status}, {} of {} resources done",
                    self.done.min(self.total),
                    self.total,
                    stack_id_short = stack
                        .as_ref()
                        .and_then(|s| s.stack_name())
                        .unwrap_or("stack"),
                ));
            }
            // Right after it is asked, CloudFormation may still show the stack as it was.
            let begun = self.started || began.elapsed() > START_TIMEOUT;
            if !in_progress(&status) && begun {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                return Ok(Outcome {
                    status,
                    failures: self.failures,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Shows the events of `stack_id` not shown yet: the watched stack's, or with `group`, those
    /// of its nested stack `group` since the operation began.
    async fn show_new_events(
        &mut self,
        session: &Session,
        cf: &Client,
        stack_id: &str,
        group: Option<&str>,
    ) -> Result<()> {
        let mut fresh = Vec::new();
        let mut token = None;
        'pages: loop {
            let output = match cf
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(output) => output,
                // A nested stack replaced or deleted by this operation has no events to read.
                Err(_) if group.is_some() => return Ok(()),
                Err(e) => return Err(session.explain("could not read the stack's events", e)),
            };
            // Newest first: stop at the first event seen before.
            for event in output.stack_events() {
                let Some(id) = event.event_id() else { continue };
                if self.since.as_deref() == Some(id) || self.seen.contains(id) {
                    break 'pages;
                }
                let earlier = group.is_some()
                    && match (self.start, event.timestamp()) {
                        (Some(start), Some(at)) => at.as_nanos() < start.as_nanos(),
                        _ => true,
                    };
                if earlier {
                    break 'pages;
                }
                fresh.push(event.clone());
            }
            token = output.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        for event in fresh.iter().rev() {
            if let Some(id) = event.event_id() {
                self.seen.insert(id.to_owned());
            }
            if group.is_none() && self.start.is_none() {
                self.start = event.timestamp().copied();
            }
            let kind = event.resource_type().unwrap_or("");
            if kind == "AWS::CloudFormation::Stack" && group.is_some() {
                // The nested stack's own status: the parent's events show it.
                continue;
            }
            if kind == "AWS::CloudFormation::Stack"
                && let (Some(physical), Some(logical)) = (
                    event.physical_resource_id().filter(|p| !p.is_empty()),
                    event.logical_resource_id(),
                )
                && event.stack_id() != Some(physical)
                && event.stack_name() != Some(logical)
            {
                self.nested.insert(physical.to_owned(), logical.to_owned());
            }
            self.record(event, group);
            self.line(event, group);
        }
        Ok(())
    }

    fn record(&mut self, event: &StackEvent, group: Option<&str>) {
        let status = event.resource_status().map_or("", |s| s.as_str());
        let kind = event.resource_type().unwrap_or("");
        if kind == "AWS::CloudFormation::Stack" {
            if event.stack_name() == event.logical_resource_id() {
                self.started = true;
            }
            return;
        }
        if status.ends_with("_COMPLETE") || status.ends_with("_SKIPPED") {
            self.done += 1;
        }
        if let Some(mut failure) = failure(event) {
            if let Some(group) = group {
                failure.logical_id = format!("{group}/{}", failure.logical_id);
            }
            self.failures.push(failure);
        }
    }
}

/// A resource's failure event, unless it only says it was cancelled because of another.
pub fn failure(event: &StackEvent) -> Option<Failure> {
    let status = event.resource_status()?.as_str();
    let kind = event.resource_type().unwrap_or("");
    if !status.ends_with("_FAILED") || kind == "AWS::CloudFormation::Stack" {
        return None;
    }
    let reason = event.resource_status_reason().unwrap_or("no reason given");
    if reason.contains("Resource creation cancelled")
        || reason.contains("Resource update cancelled")
    {
        return None;
    }
    Some(Failure {
        logical_id: event.logical_resource_id().unwrap_or("?").to_owned(),
        resource_type: kind.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
    })
}

/// The status word for a resource status, and whether it is shown only with `-v`.
fn verb(status: &str) -> (&'static str, bool) {
    match status {
        "CREATE_IN_PROGRESS" => ("Creating", true),
        "CREATE_COMPLETE" => ("Created", false),
        "UPDATE_IN_PROGRESS" => ("Updating", true),
        "UPDATE_COMPLETE" => ("Updated", false),
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" => ("Cleaning", true),
        "DELETE_IN_PROGRESS" => ("Deleting", true),
        "DELETE_COMPLETE" => ("Deleted", false),
        "DELETE_SKIPPED" => ("Kept", false),
        "REVIEW_IN_PROGRESS" => ("Reviewing", true),
        "ROLLBACK_IN_PROGRESS" | "UPDATE_ROLLBACK_IN_PROGRESS" => ("Rolling back", false),
        "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" => ("Rolled back", false),
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" => ("Cleaning", true),
        s if s.ends_with("_FAILED") => ("Failed", false),
        s if s.ends_with("_IN_PROGRESS") => ("Working", true),
        _ => ("Done", false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::ResourceStatus;
    use serde_json::json;

    #[test]
    fn stacks_are_named_like_architects() {
        assert_eq!(stack_name("welcome", "staging"), "WelcomeStaging");
        assert_eq!(stack_name("my-app", "production"), "MyAppProduction");
        assert_eq!(stack_name("shop.v2", "pr-42"), "ShopV2Pr42");
    }

    #[test]
    fn bad_stages_are_refused_naming_what_is_wrong() {
        for good in ["staging", "production", "pr-42", "Dev"] {
            check_stage(good).unwrap();
        }
        let err = check_stage("my_stage").unwrap_err().to_string();
        assert!(err.contains("`my_stage`") && err.contains("`_`"), "{err}");
        let err = check_stage("prod!").unwrap_err().to_string();
        assert!(err.contains("`!`"), "{err}");
        let err = check_stage("42").unwrap_err().to_string();
        assert!(err.contains("starts with a letter"), "{err}");
        let err = check_stage("").unwrap_err().to_string();
        assert!(err.contains("starts with a letter"), "{err}");
        let err = check_stage(&"a".repeat(33)).unwrap_err().to_string();
        assert!(err.contains("at most 32"), "{err}");
    }

    #[test]
    fn names_too_long_for_aws_are_refused_naming_the_resource() {
        let template = json!({ "Resources": {
            "HandlerSendWelcomeFunction": { "Properties": {
                "FunctionName": { "Fn::Sub": "${AWS::StackName}-SendWelcomeToEveryNewAccount" } } },
            "QueueJobs": { "Properties": {
                "QueueName": { "Fn::Sub": "${AWS::StackName}-QueueJobs.fifo" } } },
        }});
        check_names(&template, "WelcomeStaging").unwrap();
        let stack = format!("Welcome{}", "X".repeat(30));
        let err = check_names(&template, &stack).unwrap_err().to_string();
        assert!(
            err.contains("HandlerSendWelcomeFunction: FunctionName"),
            "{err}"
        );
        assert!(err.contains("AWS allows 64"), "{err}");
        assert!(!err.contains("QueueJobs"), "{err}");
    }

    fn event(id: &str, kind: &str, status: ResourceStatus, reason: &str) -> StackEvent {
        StackEvent::builder()
            .event_id(format!("{id}-{}", status.as_str()))
            .stack_id("stack")
            .stack_name("WelcomeStaging")
            .logical_resource_id(id)
            .resource_type(kind)
            .resource_status(status)
            .resource_status_reason(reason)
            .timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
            .build()
    }

    #[test]
    fn failures_name_the_resource_and_reason_and_skip_cancellations() {
        let failed = event(
            "HandlerSendWelcomeFunction",
            "AWS::Lambda::Function",
            ResourceStatus::CreateFailed,
            "Resource handler returned message: \"Function already exist: WelcomeStaging-SendWelcome\"",
        );
        let found = failure(&failed).unwrap();
        assert_eq!(
            found.to_string(),
            "HandlerSendWelcomeFunction (AWS::Lambda::Function) CREATE_FAILED: Resource handler \
             returned message: \"Function already exist: WelcomeStaging-SendWelcome\""
        );
        let cancelled = event(
            "EventAccountSignupTopic",
            "AWS::SNS::Topic",
            ResourceStatus::CreateFailed,
            "Resource creation cancelled",
        );
        assert_eq!(failure(&cancelled), None);
        let stack = event(
            "WelcomeStaging",
            "AWS::CloudFormation::Stack",
            ResourceStatus::CreateFailed,
            "The following resource(s) failed to create: [HandlerSendWelcomeFunction].",
        );
        assert_eq!(failure(&stack), None);
        let done = event("X", "AWS::SNS::Topic", ResourceStatus::CreateComplete, "");
        assert_eq!(failure(&done), None);
    }

    #[test]
    fn a_nested_stacks_failures_are_named_after_it_and_its_status_does_not_end_the_watch() {
        let shell = Shell {
            quiet: true,
            verbose: false,
            color: crate::shell::ColorChoice::Never,
        };
        let mut watch = Watch::new(&shell, None, 3);
        let failed = event(
            "HandlerAuditFunction",
            "AWS::Lambda::Function",
            ResourceStatus::CreateFailed,
            "Resource handler returned message: \"Memory exceeds the account's limit\"",
        );
        watch.record(&failed, Some("Handlers03"));
        assert_eq!(
            watch.failures[0].to_string(),
            "Handlers03/HandlerAuditFunction (AWS::Lambda::Function) CREATE_FAILED: Resource \
             handler returned message: \"Memory exceeds the account's limit\""
        );
        // The nested stack as a resource of the parent: not the watched stack's own event.
        let nested = event(
            "Handlers03",
            "AWS::CloudFormation::Stack",
            ResourceStatus::CreateInProgress,
            "",
        );
        watch.record(&nested, None);
        assert!(!watch.started);
        let own = event(
            "WelcomeStaging",
            "AWS::CloudFormation::Stack",
            ResourceStatus::CreateInProgress,
            "User Initiated",
        );
        watch.record(&own, None);
        assert!(watch.started);
    }

    #[test]
    fn only_working_stacks_are_in_progress() {
        assert!(in_progress("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
        assert!(in_progress("CREATE_IN_PROGRESS"));
        assert!(!in_progress("REVIEW_IN_PROGRESS"));
        assert!(!in_progress("ROLLBACK_COMPLETE"));
        assert_eq!(verb("CREATE_FAILED"), ("Failed", false));
    }
}
