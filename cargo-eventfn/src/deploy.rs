//! `cargo eventfn deploy` and `cargo eventfn destroy`: a stage of the app as a CloudFormation
//! stack.
//!
//! Deploy builds the app (a no-op for cargo when nothing changed), uploads `bootstrap.zip` to the
//! account's deployment bucket under its SHA-256 (so an unchanged artifact is never uploaded
//! twice and a changed one always changes the functions' code key), and creates or updates the
//! stack through a change set. Before that, it compares the template and parameters with what
//! the stack already has: when they are equal, nothing is created, uploaded or executed.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, anyhow, bail};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Stack, Tag, TemplateStage,
};
use eventfn_core::Manifest;
use serde::Serialize;
use serde_json::Value;

use crate::aws::{Session, Target};
use crate::preflight;
use crate::redact;
use crate::shell::Shell;
use crate::stack::{self, Watch};
use crate::template;
use crate::{AppSelection, BuildArgs, LambdaBuild, MessageFormat, build};

/// CloudFormation takes a template inline up to this many bytes; larger ones go through S3.
const INLINE_TEMPLATE_LIMIT: usize = 51_200;

#[derive(clap::Args, Debug, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub app: AppSelection,

    #[command(flatten)]
    pub lambda: LambdaBuild,

    /// Deploy a debug build: quicker to build, but larger and slower on Lambda. Without it,
    /// `deploy` builds with the release profile (`--release` changes nothing).
    #[arg(long, conflicts_with = "release")]
    pub debug: bool,

    /// Stage to deploy: the stack is named `<App><Stage>`, e.g. `WelcomeStaging`.
    #[arg(long, default_value = crate::stack::DEFAULT_STAGE, value_name = "NAME")]
    pub stage: String,

    /// Print what would change (the change set's summary) and execute nothing. The nested
    /// stacks' templates are uploaded (CloudFormation reads them to work out the changes); the
    /// code is not.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub target: Target,

    /// Output format on stdout: `human` lists the stage's topics, queues and functions; `json`
    /// prints the result, the changes and the stack's outputs.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, value_name = "FMT")]
    pub message_format: MessageFormat,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub app: crate::PackageSelection,

    /// Stage to delete.
    #[arg(long, value_name = "NAME")]
    pub stage: String,

    /// Confirm the deletion: required, since the messages and dead letters in the stage's queues
    /// go with it.
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub target: Target,
}

/// What `deploy --message-format json` prints.
#[derive(Debug, Serialize)]
struct Deployed {
    reason: &'static str,
    app: String,
    stage: String,
    stack: String,
    region: String,
    /// `created`, `updated`, `unchanged` or `dry-run`.
    result: &'static str,
    code: Code,
    /// Where CloudFormation read the template from, when it was too large to send inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    template_url: Option<String>,
    changes: Vec<Change>,
    outputs: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Code {
    bucket: String,
    key: String,
    uploaded: bool,
}

#[derive(Debug, Serialize)]
struct Change {
    action: String,
    logical_id: String,
    resource_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<String>,
}

pub fn run(shell: &Shell, args: &DeployArgs) -> Result<()> {
    stack::check_stage(&args.stage)?;
    let config = build::app_config(&args.app)?;
    let runtime = runtime()?;
    // Region, credentials and endpoint are checked before the build, which can take minutes.
    let session = runtime.block_on(Session::open(&args.target, config.region.as_deref()))?;
    if let Some(key) = &config.kms_key {
        check_key_region(key, &session.region)?;
    }
    let app = AppSelection {
        release: !args.debug,
        ..args.app.clone()
    };
    let built = build::run(
        shell,
        &BuildArgs {
            app,
            lambda: args.lambda.clone(),
            message_format: MessageFormat::Human,
        },
    )?;
    // What this build made, not what is in its files now: another build of the app (other
    // features, another profile) may have written them since.
    let build::Outputs {
        manifest,
        templates,
        bootstrap_len,
        zip,
    } = built.outputs;
    if let Some(problem) = build::oversize(bootstrap_len) {
        bail!(
            "cannot deploy `{}`: {problem}",
            built.files.bootstrap.display()
        );
    }
    if args.debug {
        shell.warn(format_args!(
            "deploying a debug build ({} zipped); leave out --debug for a stage that serves \
             traffic",
            build::megabytes(zip.len() as u64)
        ));
    }
    let stack = stack::stack_name(&manifest.app, &args.stage);
    let flat = templates.flat();
    stack::check_names(&flat, &stack)?;
    let deployed = runtime.block_on(deploy(
        shell, args, &session, &manifest, &templates, &zip, &stack,
    ))?;
    match args.message_format {
        MessageFormat::Json => println!(
            "{}",
            serde_json::to_string(&deployed).expect("a summary serializes")
        ),
        MessageFormat::Human => print_outputs(&deployed.outputs, &flat),
    }
    Ok(())
}

/// A log group or function can only use a key of its own region: say so before building rather
/// than let CloudFormation fail on the first log group.
fn check_key_region(key: &str, region: &str) -> Result<()> {
    // `AppConfig` holds only a key whose ARN was read.
    let key_region = eventfn_core::settings::kms_key_region(key).map_err(|e| anyhow!(e))?;
    if key_region != region {
        bail!(
            "[package.metadata.eventfn] kms_key `{key}` is a key of region `{key_region}`, but \
             this deploy goes to `{region}`: log groups and functions can only use a key of their \
             own region; deploy with --region {key_region}, or set kms_key to a key of `{region}`"
        );
    }
    Ok(())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// What the stack is, and so what a deploy does to it.
enum Plan {
    Create,
    /// A stack left in review by a change set that was never executed: created anew.
    CreateInReview,
    Update(Box<Stack>),
}

fn plan(stack_name: &str, existing: Option<Stack>) -> Result<Plan> {
    let Some(existing) = existing else {
        return Ok(Plan::Create);
    };
    let status = stack::status(&existing).to_owned();
    match status.as_str() {
        "REVIEW_IN_PROGRESS" => Ok(Plan::CreateInReview),
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => Ok(Plan::Update(Box::new(existing))),
        s if stack::in_progress(s) => bail!(
            "stack `{stack_name}` is busy ({s}): wait until CloudFormation is done with it, \
             then deploy again"
        ),
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" | "DELETE_FAILED" => bail!(
            "stack `{stack_name}` is {status} after a failed creation or deletion and cannot be \
             updated: delete it with `cargo eventfn destroy --stage <stage> --yes`, then deploy \
             again"
        ),
        other => bail!(
            "stack `{stack_name}` is {other} and cannot be updated: bring it back to a complete \
             state in the CloudFormation console (e.g. continue the update rollback), then deploy \
             again"
        ),
    }
}

async fn deploy(
    shell: &Shell,
    args: &DeployArgs,
    session: &Session,
    manifest: &Manifest,
    templates: &template::Templates,
    zip: &[u8],
    stack_name: &str,
) -> Result<Deployed> {
    let template = &templates.parent;
    let cf = session.cloudformation();
    shell.status(
        "Deploying",
        format!(
            "app `{}` to stack `{stack_name}` (stage `{}`), account {} at {}",
            manifest.app,
            args.stage,
            session.account,
            session.endpoint_name()
        ),
    );
    let plan = plan(stack_name, stack::describe(session, &cf, stack_name).await?)?;
    let bucket = format!("eventfn-deploy-{}-{}", session.account, session.region);
    let key = format!("{}/bootstrap-{}.zip", manifest.app, template::sha256(zip));
    let parameters = BTreeMap::from([
        ("CodeBucket".to_owned(), bucket.clone()),
        ("CodeKey".to_owned(), key.clone()),
    ]);
    let mut deployed = Deployed {
        reason: "deploy",
        app: manifest.app.clone(),
        stage: args.stage.clone(),
        stack: stack_name.to_owned(),
        region: session.region.clone(),
        result: "unchanged",
        code: Code {
            bucket: bucket.clone(),
            key: key.clone(),
            uploaded: false,
        },
        template_url: None,
        changes: Vec::new(),
        outputs: BTreeMap::new(),
    };

    if let Plan::Update(existing) = &plan
        && unchanged(session, &cf, existing, template, &parameters).await?
    {
        shell.status(
            "Unchanged",
            format!(
                "stack `{stack_name}`: its template and code are what is deployed; nothing to do"
            ),
        );
        deployed.outputs = outputs(session, &cf, stack_name, &templates.flat()).await?;
        return Ok(deployed);
    }

    let s3 = session.s3();
    if !args.dry_run {
        ensure_bucket(shell, session, &s3, &bucket).await?;
        deployed.code.uploaded = upload(shell, session, &s3, &bucket, &key, zip).await?;
    }
    // The nested stacks, each under the hash of its text: the parent names each by that
    // address, so an unchanged stack is neither uploaded again nor touched by CloudFormation.
    if !templates.nested.is_empty() {
        ensure_bucket(shell, session, &s3, &bucket).await?;
        let mut uploaded = 0;
        for (id, nested) in &templates.nested {
            let key = template::nested_key(&manifest.app, id, nested);
            let body = template::compact(nested);
            if upload(shell, session, &s3, &bucket, &key, body.as_bytes()).await? {
                uploaded += 1;
            }
        }
        let total = templates.nested.len();
        shell.verbose(
            "Uploaded",
            match total - uploaded {
                0 => format!("{uploaded} nested stack templates"),
                there => format!(
                    "{uploaded} of {total} nested stack templates; {there} unchanged were there"
                ),
            },
        );
    }
    // What is deployed, to tell what this deploy adds.
    let before = match &plan {
        Plan::Update(existing) => Some(
            stack::deployed_app(session, &cf, existing.stack_id().unwrap_or(stack_name)).await?,
        ),
        Plan::Create | Plan::CreateInReview => None,
    };
    let body = template::compact(template);
    let template_url = if body.len() > INLINE_TEMPLATE_LIMIT {
        ensure_bucket(shell, session, &s3, &bucket).await?;
        let key = format!(
            "{}/template-{}.json",
            manifest.app,
            template::sha256(body.as_bytes())
        );
        upload(shell, session, &s3, &bucket, &key, body.as_bytes()).await?;
        Some(template_url(session, &bucket, &key))
    } else {
        None
    };

    deployed.template_url = template_url.clone();
    let change_set_type = match plan {
        Plan::Create | Plan::CreateInReview => ChangeSetType::Create,
        Plan::Update(_) => ChangeSetType::Update,
    };
    let change_set_name = format!(
        "eventfn-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let mut request = cf
        .create_change_set()
        .stack_name(stack_name)
        .change_set_name(&change_set_name)
        .change_set_type(change_set_type.clone())
        .capabilities(Capability::CapabilityIam)
        .include_nested_stacks(true)
        .description(format!("cargo eventfn deploy --stage {}", args.stage))
        .tags(
            Tag::builder()
                .key("eventfn:app")
                .value(&manifest.app)
                .build(),
        )
        .tags(
            Tag::builder()
                .key("eventfn:stage")
                .value(&args.stage)
                .build(),
        );
    for (key, value) in &parameters {
        request = request.parameters(
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build(),
        );
    }
    request = match &template_url {
        Some(url) => request.template_url(url),
        None => request.template_body(&body),
    };
    let created = request.send().await.map_err(|e| {
        session.explain(
            &format!("could not create a change set for `{stack_name}`"),
            e,
        )
    })?;
    let change_set_id = created.id().unwrap_or(&change_set_name).to_owned();
    let stack_id = created.stack_id().unwrap_or(stack_name).to_owned();

    let review = review(session, &cf, &change_set_id).await;
    let changes = match review {
        Ok(Review::Changes(changes)) => changes,
        Ok(Review::NoChanges) => {
            discard(session, &cf, &change_set_id, None).await?;
            shell.status(
                "Unchanged",
                format!("stack `{stack_name}`: CloudFormation found nothing to change"),
            );
            deployed.outputs = outputs(session, &cf, &stack_id, &templates.flat()).await?;
            return Ok(deployed);
        }
        Err(err) => {
            let new_stack = (change_set_type == ChangeSetType::Create).then_some(stack_id.as_str());
            discard(session, &cf, &change_set_id, new_stack).await?;
            return Err(err);
        }
    };
    let inner = nested_changes(&changes, templates, before.as_ref());
    deployed.changes = changes;
    deployed.changes.extend(inner);
    summarize(shell, &deployed.changes, args.dry_run);

    // Resources the deploy adds, in any of the stacks: what the deployed templates lack.
    let flat = templates.flat();
    let added: Vec<&str> = flat["Resources"]
        .as_object()
        .into_iter()
        .flat_map(|resources| resources.keys())
        .filter(|id| {
            before
                .as_ref()
                .is_none_or(|b| b.template["Resources"].get(id.as_str()).is_none())
        })
        .map(String::as_str)
        .collect();
    let taken = preflight::taken(session, &flat, stack_name, &added).await?;
    if !taken.is_empty() {
        let new_stack = (change_set_type == ChangeSetType::Create).then_some(stack_id.as_str());
        discard(session, &cf, &change_set_id, new_stack).await?;
        let lines: Vec<String> = taken.iter().map(ToString::to_string).collect();
        bail!(
            "deploy of `{stack_name}` stopped before any change: names it would create are \
             taken\n\n{}\n\nDelete these (they are not part of the stack; a log group may \
             have been made by Lambda for an earlier function of the same name), or deploy \
             to another stage",
            lines.join("\n")
        );
    }

    if args.dry_run {
        let new_stack = (change_set_type == ChangeSetType::Create).then_some(stack_id.as_str());
        discard(session, &cf, &change_set_id, new_stack).await?;
        shell.status(
            "Dry run",
            format!("nothing was executed; `{stack_name}` is as it was"),
        );
        deployed.result = "dry-run";
        return Ok(deployed);
    }

    let since = stack::newest_event(session, &cf, &stack_id).await?;
    cf.execute_change_set()
        .change_set_name(&change_set_id)
        .send()
        .await
        .map_err(|e| {
            session.explain(
                &format!("deploy of `{stack_name}` failed: CloudFormation could not execute its change set"),
                e,
            )
        })?;
    let outcome = Watch::new(shell, since, deployed.changes.len())
        .run(session, &cf, &stack_id)
        .await?;
    let expected = if change_set_type == ChangeSetType::Create {
        "CREATE_COMPLETE"
    } else {
        "UPDATE_COMPLETE"
    };
    if outcome.status != expected {
        let mut message = format!(
            "deploy of `{stack_name}` failed: the stack is {}",
            outcome.status
        );
        match outcome.failures.first() {
            Some(first) => {
                message.push_str(&format!("\n\n{first}"));
                for other in &outcome.failures[1..] {
                    message.push_str(&format!("\n{other}"));
                }
            }
            None => message.push_str(" (CloudFormation reported no failed resource)"),
        }
        if outcome.status == "ROLLBACK_COMPLETE" {
            message.push_str(&format!(
                "\n\nA stack whose creation failed cannot be updated: fix the cause, then run \
                 `cargo eventfn destroy --stage {} --yes` and deploy again",
                args.stage
            ));
        }
        bail!(message);
    }
    deployed.result = if change_set_type == ChangeSetType::Create {
        "created"
    } else {
        "updated"
    };
    deployed.outputs = outputs(session, &cf, &stack_id, &flat).await?;
    shell.status(
        "Finished",
        format!(
            "stack `{stack_name}` {} ({} change{})",
            deployed.result,
            deployed.changes.len(),
            if deployed.changes.len() == 1 { "" } else { "s" }
        ),
    );
    Ok(deployed)
}

/// The address CloudFormation reads an uploaded template from. It is AWS's own form even with
/// `--endpoint-url`: CloudFormation, not this tool, fetches it, and emulators resolve it against
/// their own S3.
fn template_url(session: &Session, bucket: &str, key: &str) -> String {
    format!("https://{bucket}.s3.{}.amazonaws.com/{key}", session.region)
}

/// True when the stack already has this template (compared as JSON, so formatting does not
/// count) and these parameters.
async fn unchanged(
    session: &Session,
    cf: &Client,
    existing: &Stack,
    template: &Value,
    parameters: &BTreeMap<String, String>,
) -> Result<bool> {
    let deployed_parameters: BTreeMap<String, String> = existing
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap_or_default().to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    if &deployed_parameters != parameters {
        return Ok(false);
    }
    let deployed = cf
        .get_template()
        .stack_name(
            existing
                .stack_id()
                .or(existing.stack_name())
                .unwrap_or_default(),
        )
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| session.explain("could not read the deployed template", e))?;
    let Some(body) = deployed.template_body() else {
        return Ok(false);
    };
    Ok(serde_json::from_str::<Value>(body).is_ok_and(|deployed| &deployed == template))
}

/// What changes inside each nested stack that `changes` touches, read from the templates (the
/// deployed one and the new one), as `Handlers03/HandlerSendWelcomeFunction`: CloudFormation
/// lists a nested stack's changes in a change set of its own, which emulators do not make.
fn nested_changes(
    changes: &[Change],
    templates: &template::Templates,
    before: Option<&stack::DeployedApp>,
) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let resources = |template: Option<&Value>| {
        template
            .and_then(|t| t["Resources"].as_object())
            .unwrap_or(&empty)
            .clone()
    };
    let mut found = Vec::new();
    for change in changes {
        if change.resource_type != "AWS::CloudFormation::Stack" {
            continue;
        }
        let id = &change.logical_id;
        let old = resources(before.and_then(|b| b.nested.get(id)));
        let new = resources(templates.nested.get(id));
        let ids: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for resource in ids {
            let (action, kind) = match (old.get(resource), new.get(resource)) {
                (None, Some(new)) => ("Add", &new["Type"]),
                (Some(old), None) => ("Remove", &old["Type"]),
                (Some(old), Some(new)) if old != new => ("Modify", &new["Type"]),
                _ => continue,
            };
            found.push(Change {
                action: action.to_owned(),
                logical_id: format!("{id}/{resource}"),
                resource_type: kind.as_str().unwrap_or("?").to_owned(),
                replacement: None,
            });
        }
    }
    found
}

enum Review {
    Changes(Vec<Change>),
    NoChanges,
}

/// Waits for CloudFormation to work out the change set, and reads its changes.
async fn review(session: &Session, cf: &Client, change_set: &str) -> Result<Review> {
    loop {
        let mut changes = Vec::new();
        let mut token = None;
        let mut status;
        loop {
            let output = cf
                .describe_change_set()
                .change_set_name(change_set)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| session.explain("could not read the change set", e))?;
            status = output.status().cloned();
            if status == Some(ChangeSetStatus::Failed) {
                let reason = output.status_reason().unwrap_or("no reason given");
                if reason.contains("didn't contain changes")
                    || reason.contains("No updates are to be performed")
                {
                    return Ok(Review::NoChanges);
                }
                bail!("CloudFormation refused the change set: {reason}");
            }
            for change in output.changes() {
                if let Some(resource) = change.resource_change() {
                    changes.push(Change {
                        action: resource.action().map_or("?", |a| a.as_str()).to_owned(),
                        logical_id: resource.logical_resource_id().unwrap_or("?").to_owned(),
                        resource_type: resource.resource_type().unwrap_or("?").to_owned(),
                        replacement: resource.replacement().map(|r| r.as_str().to_owned()),
                    });
                }
            }
            token = output.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if status == Some(ChangeSetStatus::CreateComplete) {
            return Ok(Review::Changes(changes));
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Deletes an unexecuted change set and, when it was to create the stack, the stack it left in
/// review, so nothing stays behind.
async fn discard(
    session: &Session,
    cf: &Client,
    change_set: &str,
    new_stack: Option<&str>,
) -> Result<()> {
    cf.delete_change_set()
        .change_set_name(change_set)
        .send()
        .await
        .map_err(|e| session.explain("could not delete the change set", e))?;
    if let Some(stack) = new_stack {
        cf.delete_stack()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| session.explain("could not delete the stack left in review", e))?;
    }
    Ok(())
}

fn summarize(shell: &Shell, changes: &[Change], dry_run: bool) {
    let count = |action: &str| changes.iter().filter(|c| c.action == action).count();
    shell.status(
        "Changes",
        format!(
            "{} to add, {} to modify, {} to remove",
            count("Add"),
            count("Modify"),
            count("Remove")
        ),
    );
    for change in changes {
        let replacement = match change.replacement.as_deref() {
            Some("True") => ", replaced",
            Some("Conditional") => ", may be replaced",
            _ => "",
        };
        let line = format!(
            "{} ({}{replacement})",
            change.logical_id, change.resource_type
        );
        if dry_run {
            shell.status(&change.action, line);
        } else {
            shell.verbose(&change.action, line);
        }
    }
}

/// The physical IDs of what the deploy lists (topic ARNs, queue URLs, function names, dead
/// letters), read from the resources of the stack and its nested stacks, which every
/// CloudFormation implementation keeps.
async fn outputs(
    session: &Session,
    cf: &Client,
    stack: &str,
    template: &Value,
) -> Result<BTreeMap<String, String>> {
    let deployed = stack::deployed_app(session, cf, stack).await?;
    Ok(listed(template)
        .into_iter()
        .filter_map(|key| {
            let physical = deployed.physical.get(&key)?.clone();
            Some((key, physical))
        })
        .collect())
}

/// What a deploy lists, from the app's templates as one: every output, and the app's topics and
/// queues (which have their SSM parameters rather than outputs, so that the stage's stack stays
/// under CloudFormation's 200 outputs however many the app has).
fn listed(template: &Value) -> Vec<String> {
    let mut keys: Vec<String> = template["Outputs"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys().cloned())
        .collect();
    if let Some(resources) = template["Resources"].as_object() {
        keys.extend(
            resources
                .iter()
                .filter(|(id, r)| {
                    r["Type"] == "AWS::SNS::Topic"
                        || (r["Type"] == "AWS::SQS::Queue" && id.starts_with("Queue"))
                })
                .map(|(id, _)| id.clone()),
        );
    }
    keys
}

/// What the template says a listed resource is: its output's description, or its SSM
/// parameter's (`EventSignupTopic` → `EventSignupParameter`, `QueueJobs` → `QueueJobsParameter`).
fn description<'a>(template: &'a Value, key: &str) -> Option<&'a str> {
    template["Outputs"][key]["Description"]
        .as_str()
        .or_else(|| {
            let parameter = format!("{}Parameter", key.strip_suffix("Topic").unwrap_or(key));
            template["Resources"][&parameter]["Properties"]["Description"].as_str()
        })
}

/// Lists the stage's topics, queues, functions and dead-letter queues, labelled with what the
/// template says each is.
fn print_outputs(outputs: &BTreeMap<String, String>, template: &Value) {
    const TITLES: [&str; 4] = ["Topics", "Queues", "Functions", "Dead letters"];
    // An output's section, by its logical ID; the first that fits.
    let section = |key: &str| {
        if key.ends_with("Topic") {
            Some(0)
        } else if key.starts_with("Queue") {
            Some(1)
        } else if key.ends_with("Function") {
            Some(2)
        } else if key.ends_with("DeadLetters") {
            Some(3)
        } else {
            None
        }
    };
    let mut rows: [Vec<(String, &String)>; 4] = Default::default();
    for (key, value) in outputs {
        let Some(section) = section(key) else {
            continue;
        };
        // Descriptions name the event, queue or handler in backticks.
        let label = description(template, key)
            .and_then(|d| d.split('`').nth(1))
            .unwrap_or(key);
        rows[section].push((label.to_owned(), value));
    }
    for (title, rows) in TITLES.iter().zip(rows) {
        if rows.is_empty() {
            continue;
        }
        println!("{title}");
        let width = rows.iter().map(|(d, _)| d.len()).max().unwrap_or(0);
        for (description, value) in rows {
            // A queue's URL names the host requests went to, never its user name and password;
            // taken out all the same should an endpoint ever quote them.
            println!("  {description:width$}  {}", redact::text(value));
        }
    }
}

async fn ensure_bucket(
    shell: &Shell,
    session: &Session,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<()> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(()),
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            match status {
                Some(404) => {}
                Some(403) => bail!(
                    "the deployment bucket `{bucket}` exists but these credentials may not use \
                     it (403): it belongs to another account, or the credentials lack \
                     s3:ListBucket on it"
                ),
                _ => {
                    return Err(session.explain(
                        &format!("could not look up the deployment bucket `{bucket}`"),
                        err,
                    ));
                }
            }
        }
    }
    shell.status("Creating", format!("deployment bucket `{bucket}`"));
    let mut request = s3.create_bucket().bucket(bucket);
    if session.region != "us-east-1" {
        // us-east-1 is the default location and refuses to be named as a constraint.
        request = request.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    session.region.as_str(),
                ))
                .build(),
        );
    }
    if let Err(err) = request.send().await {
        let owned = err
            .as_service_error()
            .is_some_and(|e| e.is_bucket_already_owned_by_you());
        if !owned {
            return Err(session.explain(
                &format!("could not create the deployment bucket `{bucket}`"),
                err,
            ));
        }
    }
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| session.explain(&format!("could not block public access to `{bucket}`"), e))?;
    Ok(())
}

/// Uploads `bytes` to `key` unless an object is already there: keys hold content hashes.
/// Returns whether it uploaded.
async fn upload(
    shell: &Shell,
    session: &Session,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: &[u8],
) -> Result<bool> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => {
            shell.verbose("Fresh", format!("s3://{bucket}/{key} is already uploaded"));
            return Ok(false);
        }
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        Err(err) => {
            return Err(session.explain(&format!("could not look up s3://{bucket}/{key}"), err));
        }
    }
    shell.status(
        "Uploading",
        format!(
            "s3://{bucket}/{key} ({})",
            build::megabytes(bytes.len() as u64)
        ),
    );
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(bytes.to_vec()))
        .send()
        .await
        .map_err(|e| session.explain(&format!("could not upload s3://{bucket}/{key}"), e))?;
    Ok(true)
}

pub fn destroy(shell: &Shell, args: &DestroyArgs) -> Result<()> {
    stack::check_stage(&args.stage)?;
    // Said before anything is read or asked of AWS: without --yes there is nothing to do.
    if !args.yes {
        bail!(
            "destroying stage `{}` deletes its stack, with every function, topic and queue, and \
             every message and dead letter waiting in its queues: pass --yes to go ahead",
            args.stage
        );
    }
    let config = args.app.config()?;
    let stack_name = stack::stack_name(&config.app, &args.stage);
    let runtime = runtime()?;
    runtime.block_on(async {
        let session = Session::open(&args.target, config.region.as_deref()).await?;
        let cf = session.cloudformation();
        let Some(existing) = stack::describe(&session, &cf, &stack_name).await? else {
            bail!(
                "there is no stack `{stack_name}` (app `{}`, stage `{}`) at {}: nothing to destroy",
                config.app,
                args.stage,
                session.endpoint_name()
            );
        };
        let status = stack::status(&existing).to_owned();
        if stack::in_progress(&status) && status != "DELETE_IN_PROGRESS" {
            bail!(
                "stack `{stack_name}` is busy ({status}): wait until CloudFormation is done with it"
            );
        }
        let stack_id = existing.stack_id().unwrap_or(&stack_name).to_owned();
        // The nested stacks' resources too: they go with the stack.
        let mut resources = resources(&session, &cf, &stack_id).await?;
        let nested: BTreeMap<String, String> = resources
            .iter()
            .filter(|r| r.resource_type == "AWS::CloudFormation::Stack")
            .filter_map(|r| Some((r.physical_id.clone()?, r.logical_id.clone())))
            .collect();
        for physical in nested.keys() {
            resources.extend(self::resources(&session, &cf, physical).await?);
        }
        shell.status(
            "Destroying",
            format!(
                "stack `{stack_name}` ({} resources) at {}",
                resources.len(),
                session.endpoint_name()
            ),
        );
        let since = stack::newest_event(&session, &cf, &stack_id).await?;
        cf.delete_stack()
            .stack_name(&stack_id)
            .send()
            .await
            .map_err(|e| session.explain(&format!("could not delete stack `{stack_name}`"), e))?;
        let outcome = Watch::new(shell, since, resources.len())
            .with_nested(nested)
            .run(&session, &cf, &stack_id)
            .await?;
        if outcome.status != "DELETE_COMPLETE" {
            let failures: Vec<String> = outcome.failures.iter().map(ToString::to_string).collect();
            bail!(
                "stack `{stack_name}` was not deleted: it is {}\n\n{}",
                outcome.status,
                if failures.is_empty() {
                    "CloudFormation reported no failed resource".to_owned()
                } else {
                    failures.join("\n")
                }
            );
        }
        // Resources without a type are what an emulator accepted without creating (moto
        // lists them so): nothing was deleted.
        let resources: Vec<&Resource> = resources
            .iter()
            .filter(|r| !r.resource_type.is_empty())
            .collect();
        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        for resource in &resources {
            *by_type.entry(resource.resource_type.as_str()).or_default() += 1;
        }
        let summary: Vec<String> = by_type
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        shell.status(
            "Destroyed",
            format!("stack `{stack_name}`: {}", summary.join(", ")),
        );
        for resource in &resources {
            println!("{}\t{}", resource.logical_id, resource.resource_type);
        }
        Ok(())
    })
}

/// A resource of a stack.
pub(crate) struct Resource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
}

/// The stack's resources.
pub(crate) async fn resources(
    session: &Session,
    cf: &Client,
    stack: &str,
) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let output = cf
            .list_stack_resources()
            .stack_name(stack)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| session.explain("could not list the stack's resources", e))?;
        for resource in output.stack_resource_summaries() {
            found.push(Resource {
                logical_id: resource.logical_resource_id().unwrap_or("?").to_owned(),
                resource_type: resource.resource_type().unwrap_or("?").to_owned(),
                physical_id: resource.physical_resource_id().map(str::to_owned),
            });
        }
        token = output.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kms_key_of_another_region_stops_the_deploy() {
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        check_key_region(key, "eu-west-1").unwrap();
        let err = check_key_region(key, "us-east-1").unwrap_err().to_string();
        assert!(
            err.contains("is a key of region `eu-west-1`, but this deploy goes to `us-east-1`"),
            "{err}"
        );
        assert!(err.contains("deploy with --region eu-west-1"), "{err}");
    }

    #[test]
    fn content_hashes_are_sha256_hex() {
        assert_eq!(
            template::sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn templates_are_sent_compact() {
        let template = serde_json::json!({ "Resources": { "A": { "Type": "AWS::SNS::Topic" } } });
        assert_eq!(
            template::compact(&template),
            r#"{"Resources":{"A":{"Type":"AWS::SNS::Topic"}}}"#
        );
    }

    #[test]
    fn only_complete_stacks_are_updated() {
        let with = |status: &str| {
            Some(
                Stack::builder()
                    .stack_name("WelcomeStaging")
                    .stack_status(status.into())
                    .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
                    .build(),
            )
        };
        assert!(matches!(plan("S", None), Ok(Plan::Create)));
        assert!(matches!(
            plan("S", with("REVIEW_IN_PROGRESS")),
            Ok(Plan::CreateInReview)
        ));
        assert!(matches!(
            plan("S", with("UPDATE_ROLLBACK_COMPLETE")),
            Ok(Plan::Update(_))
        ));
        let err = plan("S", with("UPDATE_IN_PROGRESS"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("busy (UPDATE_IN_PROGRESS)"), "{err}");
        let err = plan("S", with("ROLLBACK_COMPLETE"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("cargo eventfn destroy"), "{err}");
        let err = plan("S", with("UPDATE_ROLLBACK_FAILED"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("UPDATE_ROLLBACK_FAILED"), "{err}");
    }
}
