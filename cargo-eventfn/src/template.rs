//! `template.json` and `stacks/*.json`: the app as plain CloudFormation (no SAM transform), from
//! its manifest.
//!
//! The stage's stack (`template.json`) holds what handlers share: topics, buses, app queues, the
//! delay queue and the managed policies of what functions may publish to. Each handler's own
//! resources are in a nested stack (`AWS::CloudFormation::Stack`), `Handlers00` to `Handlers15`,
//! the one the SHA-256 of its function's name picks ([`group`]). So however many handlers an app
//! has, each template stays within CloudFormation's limits (500 resources, 200 outputs, 60
//! parameters, 1 MB; [`Templates::check_limits`]), and adding a handler changes its nested stack's
//! template only: the others keep their address in S3 and CloudFormation leaves their resources
//! alone. A nested stack reads what it needs of the parent through parameters (the stack's name
//! as `App`, a topic's ARN, an app queue's); [`Templates::flat`] puts them back together.
//!
//! Every handler is a Lambda function with its own log group, role and delivery path: an SQS
//! queue of its own that redrives to its own dead-letter queue after `retries + 1` receives, read
//! by an event source mapping that reports partial batch failures. That path (rather than SNS or
//! EventBridge invoking Lambda asynchronously) is what makes `retries` mean what it says: Lambda's
//! asynchronous retries stop at 2 and keep an event at most 6 hours, while a queue counts every
//! receive, spaces retries by its visibility timeout (6 × the function's timeout) and keeps a
//! message up to 14 days.
//!
//! - An event is an SNS topic (encrypted with the AWS managed key), with a raw-delivery
//!   subscription for the queue of each subscriber, and an SSM parameter
//!   `/<stack>/events/<name>` holding its ARN.
//! - A queue is the SQS queue its handler reads (FIFO when declared so), with the parameter
//!   `/<stack>/queues/<name>` holding its URL.
//! - A schedule is an EventBridge Scheduler schedule in the stack's schedule group, with its
//!   expression, time zone (`ScheduleExpressionTimezone`) and flexible window, that sends to its
//!   handler's queue an event shaped like a schedule rule's (`Scheduled Event`, its time the
//!   time it was due), with a role that may send to that queue and its dead letters only, and
//!   the retry policy and dead-letter queue of a `#[rule]`'s target.
//! - A `#[rule]` is an EventBridge rule on its bus, with its pattern, that sends to its handler's
//!   queue, with a retry policy (EventBridge's longest: 185 retries over 24 hours) and the
//!   handler's dead-letter queue for what it cannot deliver. Each bus of the app's own
//!   (a name that is not `default`, a partner bus or an ARN) is an `AWS::Events::EventBus` named
//!   `<stack>-<name>`, with the parameter `/<stack>/buses/<name>` holding its name. A rule on a
//!   partner bus needs that bus to exist (created from the partner's event source); one on an ARN
//!   names a bus of the same account (EventBridge keeps a rule in its bus's account).
//! - Queues are encrypted with SQS-managed keys, which SNS and EventBridge can deliver to.
//! - Each function's role may write its own logs, read its own queue and read this stack's
//!   parameters; and through the app's managed policies (shared, [`publish_policies`], so a role
//!   stays small however many events the app has), publish to this app's topics and buses and
//!   send to its queues: nothing else.
//! - Functions find topics, queues and buses by name in the stack's SSM parameters
//!   (`EVENTFN_STACK`), not in their environment: Lambda allows 4 KB of it, and a map of every
//!   address would tie each nested stack to every event of the app.
//! - A function sends what fails on its last attempt to its dead-letter queue itself, with why
//!   (see [`eventfn_core::dead`]); its role may send there.
//! - When the app has an event or a queue, delayed messages wait in a delay queue read by a
//!   function of their own, or in one-time schedules of the stack's schedule group, run with a
//!   role that may only send to the delay queue (see [`eventfn_core::delay`]). Every function may
//!   send to the delay queue, create schedules in that group and pass that role to the scheduler.
//! - With `kms_key` in `[package.metadata.eventfn]`, that customer managed key encrypts every log
//!   group and every function's environment, and each function's role may decrypt with it (Lambda
//!   decrypts the environment with the role's permissions when it starts the function).
//!
//! checkov (run on every fixture's templates by the tests) passes them. Where one of its
//! policies does not fit, the resource says why in a `Metadata` skip (see [`skips`]): the
//! functions' Lambda-level dead-letter queues, VPC and, without `concurrency`, reserved
//! concurrency; without `kms_key`, the log groups' and environments' customer managed keys; and
//! the queues' KMS keys, which the check looks for although SQS-managed keys encrypt them.
//!
//! Logical IDs come from [`eventfn_core::logical`]. Keys are sorted (`serde_json`'s map), so the
//! same manifest gives the same bytes.

use std::collections::BTreeMap;

use eventfn_core::dead::{ATTEMPTS_ENV, DEAD_LETTERS_ENV};
use eventfn_core::delay::{DELAY_ENV, DELAY_PARAMETER, DELAYED_HANDLER};
use eventfn_core::logical::{bus_id, function_id, resource_id};
use eventfn_core::options::MAX_RETENTION_SECS;
use eventfn_core::pattern::Bus;
use eventfn_core::{Handler, Kind, Manifest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How long a dead letter is kept: SQS's longest retention, 14 days.
const DEAD_LETTER_RETENTION: u64 = MAX_RETENTION_SECS;

/// How long a function's logs are kept, in days.
const LOG_RETENTION_DAYS: u32 = 30;

fn sub(text: String) -> Value {
    json!({ "Fn::Sub": text })
}

fn arn(id: &str) -> Value {
    json!({ "Fn::GetAtt": [id, "Arn"] })
}

fn reference(id: &str) -> Value {
    json!({ "Ref": id })
}

/// The queue a handler reads: its own, or the app queue it consumes.
fn source_queue(handler: &Handler) -> String {
    match handler.kind {
        Kind::Queue => resource_id(Kind::Queue, &handler.name),
        Kind::Event | Kind::Schedule | Kind::Rule => {
            format!("Handler{}Queue", function_id(&handler.function))
        }
    }
}

// checkov's IDs of the policies that some resources skip, each with why, in [`skips`].
const QUEUE_KMS: &str = "CKV_AWS_27";
const RESERVED_CONCURRENCY: &str = "CKV_AWS_115";
const FUNCTION_DLQ: &str = "CKV_AWS_116";
const FUNCTION_VPC: &str = "CKV_AWS_117";
const LOG_GROUP_KMS: &str = "CKV_AWS_158";
const ENVIRONMENT_KMS: &str = "CKV_AWS_173";

/// Why a queue has no `KmsMasterKeyId`.
const QUEUE_KMS_REASON: &str = "Encrypted with SQS-managed keys (SqsManagedSseEnabled), which this \
    check does not recognize. Unlike alias/aws/sqs, they let SNS and EventBridge deliver.";

/// Why a log group has no `KmsKeyId` when the app sets no `kms_key`.
const LOG_GROUP_KMS_REASON: &str = "CloudWatch Logs encrypts log groups with keys it manages; kms_key \
    in [package.metadata.eventfn] sets a customer managed key.";

/// Why a function has no `KmsKeyArn` when the app sets no `kms_key`.
const ENVIRONMENT_KMS_REASON: &str = "The environment holds no secrets (handler name, attempts, the \
    stack's name, topics and queues), and Lambda encrypts it with its AWS managed key; kms_key in \
    [package.metadata.eventfn] sets a customer managed key.";

/// Why a function is not in a VPC.
const FUNCTION_VPC_REASON: &str = "eventfn calls only AWS APIs (SQS, SNS, SSM, Scheduler), with the \
    function's role; in a VPC they need NAT or endpoints. eventfn has no VPC setting.";

/// Why a function reserves no concurrency, after what it is.
const UNRESERVED: &str = "it scales within the account's unreserved concurrency. A \
    reservation takes from every other function, and Lambda refuses one that leaves less than the \
    account's minimum unreserved (100 by default).";

/// `Metadata` that makes checkov skip each of `skips`, an ID and why.
fn skips(skips: &[(&str, String)]) -> Value {
    let skips: Vec<Value> = skips
        .iter()
        .map(|(id, comment)| json!({ "id": id, "comment": comment }))
        .collect();
    json!({ "checkov": { "skip": skips } })
}

/// An SQS queue with `properties`: see [`QUEUE_KMS_REASON`].
fn sqs_queue(properties: Value) -> Value {
    json!({
        "Type": "AWS::SQS::Queue",
        "Properties": properties,
        "Metadata": skips(&[(QUEUE_KMS, QUEUE_KMS_REASON.to_owned())]),
    })
}

/// How many nested stacks an app's handlers are spread over, at most. Each handler goes to the
/// one its function's name hashes to ([`group`]), so adding a handler changes that stack only and
/// leaves every other where it is, whatever the app's size. At about nine resources a handler,
/// sixteen stacks hold some 800 handlers before one of them passes CloudFormation's 500
/// resources; the build names the stack and the count when one would.
pub const GROUPS: u64 = 16;

/// CloudFormation's limits on one template (each nested stack's is its own).
pub const MAX_RESOURCES: usize = 500;
pub const MAX_OUTPUTS: usize = 200;
pub const MAX_PARAMETERS: usize = 60;
/// The largest template CloudFormation reads from S3, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 1_048_576;

/// How many ARNs one managed policy of what functions may publish to lists: a managed policy
/// holds at most 6,144 characters, and an ARN filled in is up to about 120.
const ARNS_PER_POLICY: usize = 40;

/// The logical ID of the nested stack that holds the handler of `function`: `Handlers00` to
/// `Handlers15`, from the SHA-256 of its Rust path, which no toolchain or release changes.
pub fn group(function: &str) -> String {
    let digest = Sha256::digest(function.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!("Handlers{:02}", u64::from_be_bytes(first) % GROUPS)
}

/// The SHA-256 of `bytes`, in lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A template as sent to CloudFormation: compact JSON. Keys are sorted, so the same template is
/// always the same bytes, and its hash names it in S3.
pub fn compact(template: &Value) -> String {
    serde_json::to_string(template).expect("a JSON value serializes")
}

/// A template as written for people to read.
pub fn pretty(template: &Value) -> String {
    let mut text = serde_json::to_string_pretty(template).expect("a JSON value serializes");
    text.push('\n');
    text
}

/// Where the nested stack `id` of `app` is uploaded in the deployment bucket: under the hash of
/// its compact text, as the code is, so that an unchanged stack keeps its address and
/// CloudFormation leaves it alone.
pub fn nested_key(app: &str, id: &str, template: &Value) -> String {
    format!(
        "{app}/stacks/{id}-{}.json",
        sha256(compact(template).as_bytes())
    )
}

/// The app's templates: the stage's stack, which holds what handlers share (topics, buses, app
/// queues, the delay queue, what functions may publish to), and the nested stacks of its
/// handlers, each an `AWS::CloudFormation::Stack` of the parent.
#[derive(Debug, Clone, PartialEq)]
pub struct Templates {
    pub parent: Value,
    /// Each nested stack's logical ID in the parent, and its template.
    pub nested: BTreeMap<String, Value>,
}

impl Templates {
    /// Checks every template against CloudFormation's limits; the error names the template, the
    /// limit and the count of each that passes one.
    pub fn check_limits(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let all = std::iter::once(("template.json".to_owned(), &self.parent)).chain(
            self.nested
                .iter()
                .map(|(id, template)| (format!("nested stack {id}"), template)),
        );
        for (name, template) in all {
            let count = |section: &str| template[section].as_object().map_or(0, |m| m.len());
            for (section, limit) in [
                ("Resources", MAX_RESOURCES),
                ("Outputs", MAX_OUTPUTS),
                ("Parameters", MAX_PARAMETERS),
            ] {
                if count(section) > limit {
                    problems.push(format!(
                        "{name} has {} {}, CloudFormation allows {limit}",
                        count(section),
                        section.to_lowercase()
                    ));
                }
            }
            let bytes = compact(template).len();
            if bytes > MAX_TEMPLATE_BYTES {
                problems.push(format!(
                    "{name} is {bytes} bytes, CloudFormation reads at most {MAX_TEMPLATE_BYTES}"
                ));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the app's templates pass CloudFormation's limits:\n  {}\nHandlers are spread over \
             {GROUPS} nested stacks by the hash of their function's name, and what they share \
             (topics, buses, app queues) is in template.json: an app this size needs fewer \
             handlers in one crate, or fewer distinct events and queues",
            problems.join("\n  ")
        ))
    }

    /// The app as one template: every nested stack's resources and outputs beside the parent's,
    /// with its parameters replaced by what the parent passes (`${App}` becomes
    /// `${AWS::StackName}`). Logical IDs are unique across the stacks, so this is the view to
    /// check names and find resources in.
    pub fn flat(&self) -> Value {
        flatten(&self.parent, &self.nested)
    }
}

/// See [`Templates::flat`]; also for templates read back from a deployed stack.
pub fn flatten(parent: &Value, nested: &BTreeMap<String, Value>) -> Value {
    let mut flat = parent.clone();
    for (id, template) in nested {
        flat["Resources"]
            .as_object_mut()
            .map(|resources| resources.remove(id));
        let passed = parent["Resources"][id]["Properties"]["Parameters"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let inlined = inline_parameters(template, &passed);
        for section in ["Resources", "Outputs"] {
            if let Some(entries) = inlined[section].as_object() {
                if !flat[section].is_object() {
                    flat[section] = json!({});
                }
                let target = flat[section].as_object_mut().expect("an object");
                for (key, value) in entries {
                    target.insert(key.clone(), value.clone());
                }
            }
        }
    }
    flat
}

/// `value` with each `{"Ref": P}` of a parameter `P` in `passed` replaced by what is passed, and
/// `${P}` in `Fn::Sub` text by `${X}` when what is passed is `{"Ref": X}`.
fn inline_parameters(value: &Value, passed: &serde_json::Map<String, Value>) -> Value {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(Value::String(name)) = map.get("Ref")
                    && let Some(value) = passed.get(name)
                {
                    return value.clone();
                }
                if let Some(Value::String(text)) = map.get("Fn::Sub") {
                    let mut text = text.clone();
                    for (name, value) in passed {
                        if let Some(target) = value["Ref"].as_str() {
                            text = text.replace(&format!("${{{name}}}"), &format!("${{{target}}}"));
                        }
                    }
                    return json!({ "Fn::Sub": text });
                }
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), inline_parameters(v, passed)))
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| inline_parameters(v, passed)).collect())
        }
        other => other.clone(),
    }
}

/// One nested stack as it is built: its resources and outputs, and the parameters through which
/// it reads what the parent has.
#[derive(Default)]
struct Nested {
    resources: serde_json::Map<String, Value>,
    outputs: serde_json::Map<String, Value>,
    /// Each parameter's declaration, and the value the parent passes.
    parameters: BTreeMap<String, (Value, Value)>,
    /// It holds schedules, which go in the stack's schedule group.
    needs_schedule_group: bool,
}

impl Nested {
    /// A reference, in this stack, to `value` of the parent, passed as the parameter `name`.
    fn import(&mut self, name: &str, description: &str, value: Value) -> Value {
        self.import_as(name, "String", description, value)
    }

    /// [`Nested::import`], as a parameter of type `kind`.
    fn import_as(&mut self, name: &str, kind: &str, description: &str, value: Value) -> Value {
        self.parameters
            .entry(name.to_owned())
            .or_insert((json!({ "Type": kind, "Description": description }), value));
        reference(name)
    }
}

/// The name the nested stacks give the parent stack's name: function names, log groups and SSM
/// parameters are the app's, not a nested stack's.
const APP: &str = "App";

/// The templates of `manifest`; `kms_key`, the ARN of the app's `kms_key`, encrypts its log
/// groups and functions' environments when set.
pub fn render(manifest: &Manifest, kms_key: Option<&str>) -> Templates {
    let mut resources = serde_json::Map::new();
    let mut outputs = serde_json::Map::new();

    let mut event_names: Vec<&str> = manifest.names(Kind::Event);
    event_names.dedup();
    let mut topics = Vec::new();
    for name in &event_names {
        let id = resource_id(Kind::Event, name);
        let topic = format!("{id}Topic");
        resources.insert(
            topic.clone(),
            json!({
                "Type": "AWS::SNS::Topic",
                "Properties": { "KmsMasterKeyId": "alias/aws/sns" }
            }),
        );
        resources.insert(
            format!("{id}Parameter"),
            parameter(
                &format!("/${{AWS::StackName}}/events/{name}"),
                reference(&topic),
                &format!("The SNS topic of event `{name}`"),
            ),
        );
        topics.push(reference(&topic));
    }
    let own_buses = manifest.own_buses();
    for name in &own_buses {
        let bus = bus_id(name);
        resources.insert(
            bus.clone(),
            json!({
                "Type": "AWS::Events::EventBus",
                "Properties": { "Name": sub(format!("${{AWS::StackName}}-{name}")) },
            }),
        );
        resources.insert(
            format!("{bus}Parameter"),
            parameter(
                &format!("/${{AWS::StackName}}/buses/{name}"),
                bus_name(&bus),
                &format!("The EventBridge bus `{name}`"),
            ),
        );
        outputs.insert(
            bus.clone(),
            json!({ "Description": format!("Bus `{name}`"), "Value": arn(&bus) }),
        );
    }
    // An app queue and its dead letters are the parent's: every function may send to it.
    for handler in manifest.of_kind(Kind::Queue) {
        let queue = source_queue(handler);
        let dead = format!("Handler{}DeadLetters", function_id(&handler.function));
        let (dead_properties, queue_properties) = queue_pair(handler, &dead);
        resources.insert(dead, sqs_queue(dead_properties));
        resources.insert(queue.clone(), sqs_queue(queue_properties));
        resources.insert(
            format!("{queue}Parameter"),
            parameter(
                &format!("/${{AWS::StackName}}/queues/{}", handler.name),
                reference(&queue),
                &format!("The SQS queue `{}`", handler.name),
            ),
        );
    }

    let delays = !topics.is_empty() || manifest.of_kind(Kind::Queue).next().is_some();
    let publishing = Publishing {
        buses: own_buses.iter().map(|name| arn(&bus_id(name))).collect(),
        topics,
        queues: manifest
            .of_kind(Kind::Queue)
            .map(|h| arn(&source_queue(h)))
            .collect(),
        delays,
    };
    let policies = publish_policies(&publishing);
    for (id, policy) in &policies {
        resources.insert(id.clone(), policy.clone());
    }
    let policy_arns: Vec<Value> = policies.iter().map(|(id, _)| reference(id)).collect();
    // The stack's schedule group: the app's schedules, and one-time schedules of delayed
    // messages. Its ID is the delays', which came first: a new ID would replace the group.
    if delays || manifest.of_kind(Kind::Schedule).next().is_some() {
        resources.insert(
            SCHEDULE_GROUP.into(),
            json!({
                "Type": "AWS::Scheduler::ScheduleGroup",
                "Properties": { "Name": reference("AWS::StackName") }
            }),
        );
    }
    if delays {
        delay_resources(
            manifest,
            kms_key,
            &mut resources,
            &mut outputs,
            &policy_arns,
        );
    }

    let mut groups: BTreeMap<String, Nested> = BTreeMap::new();
    for handler in &manifest.handlers {
        let stack = groups.entry(group(&handler.function)).or_default();
        handler_resources(manifest, handler, kms_key, stack, &policy_arns, delays);
    }

    let mut nested = BTreeMap::new();
    for (id, stack) in groups {
        let mut parameters = serde_json::Map::new();
        let mut passed = serde_json::Map::new();
        parameters.insert(
            APP.into(),
            json!({ "Type": "String", "Description": "The name of the app's stack" }),
        );
        passed.insert(APP.into(), reference("AWS::StackName"));
        for (name, description) in [
            ("CodeBucket", "S3 bucket of bootstrap.zip"),
            ("CodeKey", "S3 key of bootstrap.zip"),
        ] {
            parameters.insert(
                name.into(),
                json!({ "Type": "String", "Description": description }),
            );
            passed.insert(name.into(), reference(name));
        }
        for (name, (declaration, value)) in stack.parameters {
            parameters.insert(name.clone(), declaration);
            passed.insert(name, value);
        }
        let mut template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": format!("eventfn app `{}`: the handlers of {id}", manifest.app),
            "Parameters": parameters,
            "Resources": stack.resources,
        });
        if !stack.outputs.is_empty() {
            template["Outputs"] = Value::Object(stack.outputs);
        }
        let key = nested_key(&manifest.app, &id, &template);
        let mut resource = json!({
            "Type": "AWS::CloudFormation::Stack",
            "Properties": {
                "TemplateURL": sub(format!(
                    "https://${{CodeBucket}}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}/{key}"
                )),
                "Parameters": passed,
            },
        });
        if stack.needs_schedule_group {
            resource["DependsOn"] = json!(SCHEDULE_GROUP);
        }
        resources.insert(id.clone(), resource);
        nested.insert(id, template);
    }

    let mut parent = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("eventfn app `{}`", manifest.app),
        "Parameters": {
            "CodeBucket": { "Type": "String", "Description": "S3 bucket of bootstrap.zip" },
            "CodeKey": { "Type": "String", "Description": "S3 key of bootstrap.zip" },
        },
        "Resources": resources,
    });
    if !outputs.is_empty() {
        parent["Outputs"] = Value::Object(outputs);
    }
    Templates { parent, nested }
}

/// An SSM parameter named `name` (filled in by `Fn::Sub`) holding `value`.
fn parameter(name: &str, value: Value, description: &str) -> Value {
    json!({
        "Type": "AWS::SSM::Parameter",
        "Properties": {
            "Name": sub(name.to_owned()),
            "Type": "String",
            "Value": value,
            "Description": description,
        }
    })
}

/// The properties of a handler's dead-letter queue and of the queue it reads, which redrives to
/// `dead` after `retries + 1` receives. Names are filled in with `${App}` in a nested stack and
/// `${AWS::StackName}` in the parent.
fn queue_pair(handler: &Handler, dead: &str) -> (Value, Value) {
    let stack = if handler.kind == Kind::Queue {
        "${AWS::StackName}"
    } else {
        "${App}"
    };
    let mut dead_properties = json!({
        "MessageRetentionPeriod": DEAD_LETTER_RETENTION,
        "SqsManagedSseEnabled": true,
    });
    let mut queue_properties = json!({
        // Long enough for every attempt: the build checks that they fit.
        "MessageRetentionPeriod": MAX_RETENTION_SECS,
        "SqsManagedSseEnabled": true,
        "VisibilityTimeout": 6 * handler.options.timeout,
        "RedrivePolicy": {
            "deadLetterTargetArn": arn(dead),
            "maxReceiveCount": handler.options.retries + 1,
        },
    });
    if handler.options.fifo == Some(true) {
        // FIFO queues' names end in `.fifo`, so they are named here.
        queue_properties["FifoQueue"] = json!(true);
        queue_properties["QueueName"] = sub(format!(
            "{stack}-{}.fifo",
            resource_id(Kind::Queue, &handler.name)
        ));
        dead_properties["FifoQueue"] = json!(true);
        dead_properties["QueueName"] = sub(format!(
            "{stack}-{}-dead.fifo",
            function_id(&handler.function)
        ));
    }
    (dead_properties, queue_properties)
}

/// The resources of one handler, in its nested stack: its function, role, log group and event
/// source mapping, and unless it reads an app queue, its own queue, dead-letter queue and what
/// sends to it (a subscription or a rule, with their queue policies).
fn handler_resources(
    manifest: &Manifest,
    handler: &Handler,
    kms_key: Option<&str>,
    stack: &mut Nested,
    policy_arns: &[Value],
    delays: bool,
) {
    let id = format!("Handler{}", function_id(&handler.function));
    let dead = format!("{id}DeadLetters");
    let function = format!("{id}Function");
    let logs = format!("{id}Logs");
    let function_name = format!("${{{APP}}}-{}", function_id(&handler.function));
    let timeout = handler.options.timeout;

    // The queue the function reads and its dead letters: the parent's for an app queue.
    let (queue_arn, dead_url, dead_arn) = if handler.kind == Kind::Queue {
        let queue = source_queue(handler);
        let what = format!("queue `{}`", handler.name);
        (
            stack.import(
                &format!("{queue}Arn"),
                &format!("The ARN of {what}"),
                arn(&queue),
            ),
            stack.import(
                &dead,
                &format!("The URL of the dead letters of {what}"),
                reference(&dead),
            ),
            stack.import(
                &format!("{dead}Arn"),
                &format!("The ARN of the dead letters of {what}"),
                arn(&dead),
            ),
        )
    } else {
        let queue = source_queue(handler);
        let (dead_properties, queue_properties) = queue_pair(handler, &dead);
        stack
            .resources
            .insert(dead.clone(), sqs_queue(dead_properties));
        stack
            .resources
            .insert(queue.clone(), sqs_queue(queue_properties));
        (arn(&queue), reference(&dead), arn(&dead))
    };
    stack.outputs.insert(
        dead.clone(),
        json!({
            "Description": format!("Dead letters of `{}`", handler.function),
            "Value": dead_url.clone(),
        }),
    );

    // Who may send to the handler's own queue: its topic, or its rule.
    let queue = source_queue(handler);
    let sender = match handler.kind {
        Kind::Event => {
            let topic_id = format!("{}Topic", resource_id(Kind::Event, &handler.name));
            let topic = stack.import(
                &topic_id,
                &format!("The SNS topic of event `{}`", handler.name),
                reference(&topic_id),
            );
            let mut subscription = json!({
                "Protocol": "sqs",
                "TopicArn": topic.clone(),
                "Endpoint": arn(&queue),
                "RawMessageDelivery": true,
            });
            // The handler's filter, on the payload: the message body, as published.
            if let Some(filter) = &handler.filter {
                subscription["FilterPolicy"] = filter.clone();
                subscription["FilterPolicyScope"] = json!("MessageBody");
            }
            stack.resources.insert(
                format!("{id}Subscription"),
                json!({ "Type": "AWS::SNS::Subscription", "Properties": subscription }),
            );
            Some(("sns.amazonaws.com", topic))
        }
        Kind::Schedule => {
            // The group is named after the app's stack; the parent creates this nested stack
            // after it.
            stack.needs_schedule_group = true;
            schedule_resources(stack, handler, &queue, &dead, reference(APP));
            // The schedule sends with a role of its own: no queue policy.
            None
        }
        Kind::Rule => {
            let rule = format!("{}Rule", resource_id(Kind::Rule, &handler.name));
            let bus = handler.bus.as_deref().unwrap_or("default");
            let mut properties = json!({
                "Description": format!("Rule `{}` of `{}` on bus `{bus}`", handler.name, handler.function),
                "EventPattern": handler.pattern.clone().unwrap_or(Value::Null),
                "State": "ENABLED",
                "Targets": [{
                    "Arn": arn(&queue),
                    "Id": "handler",
                    "RetryPolicy": {
                        "MaximumRetryAttempts": RULE_MAX_RETRIES,
                        "MaximumEventAgeInSeconds": RULE_MAX_EVENT_AGE,
                    },
                    "DeadLetterConfig": { "Arn": arn(&dead) },
                }],
            });
            match Bus::parse(bus) {
                Ok(Bus::Own(name)) => {
                    let bus = bus_id(&name);
                    properties["EventBusName"] = stack.import(
                        &format!("{bus}Name"),
                        &format!("The name of the app's bus `{name}`"),
                        bus_name(&bus),
                    );
                }
                Ok(Bus::Default) | Err(_) => {}
                Ok(Bus::Partner(name) | Bus::Arn(name)) => {
                    properties["EventBusName"] = json!(name);
                }
            }
            stack.resources.insert(
                rule.clone(),
                json!({ "Type": "AWS::Events::Rule", "Properties": properties }),
            );
            // What the rule cannot deliver goes to the handler's dead letters.
            stack.resources.insert(
                format!("{id}DeadLettersPolicy"),
                queue_policy(&dead, "events.amazonaws.com", arn(&rule)),
            );
            Some(("events.amazonaws.com", arn(&rule)))
        }
        Kind::Queue => None,
    };
    if let Some((service, source)) = sender {
        stack.resources.insert(
            format!("{id}QueuePolicy"),
            queue_policy(&queue, service, source),
        );
    }

    stack
        .resources
        .insert(logs.clone(), log_group(&function_name, kms_key));
    let mut statements = own_statements(&function_name, queue_arn.clone(), APP, kms_key);
    // Its last failed attempt goes to its dead letters with why (see `eventfn_core::dead`).
    statements.push(json!({
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": dead_arn,
    }));
    let role = format!("{id}Role");
    let publishes = (!policy_arns.is_empty()).then(|| {
        stack.import_as(
            "PublishPolicies",
            "CommaDelimitedList",
            "The managed policies of what every function may publish to",
            json!({ "Fn::Join": [",", policy_arns] }),
        )
    });
    stack
        .resources
        .insert(role.clone(), lambda_role(statements, publishes));
    let mut environment = serde_json::Map::new();
    environment.insert("EVENTFN_STACK".into(), reference(APP));
    if delays {
        environment.insert(
            DELAY_ENV.into(),
            stack.import(
                "DelayRoute",
                "Where delayed messages wait: the delay queue and schedule group",
                delay_route(),
            ),
        );
    }
    environment.insert(DEAD_LETTERS_ENV.into(), dead_url);
    environment.insert(
        ATTEMPTS_ENV.into(),
        json!((handler.options.retries + 1).to_string()),
    );
    let mut properties = function_properties(
        manifest,
        &function_name,
        &handler.function,
        &role,
        &logs,
        environment,
        kms_key,
    );
    properties["Description"] = json!(format!(
        "{} `{}`: {}",
        handler.kind.as_str(),
        handler.name,
        handler.function
    ));
    properties["MemorySize"] = json!(handler.options.memory);
    properties["Timeout"] = json!(timeout);
    let mut skipped = function_skips(&dead, kms_key);
    match handler.options.concurrency {
        Some(concurrency) => {
            properties["ReservedConcurrentExecutions"] = json!(concurrency);
        }
        None => skipped.push((
            RESERVED_CONCURRENCY,
            format!("No `concurrency` on the handler: {UNRESERVED}"),
        )),
    }
    stack.resources.insert(
        function.clone(),
        json!({
            "Type": "AWS::Lambda::Function",
            "Properties": properties,
            "Metadata": skips(&skipped),
        }),
    );
    let batch_size = handler.options.batch_size.unwrap_or(10);
    let mut mapping = json!({
        "EventSourceArn": queue_arn,
        "FunctionName": reference(&function),
        "BatchSize": batch_size,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    });
    if batch_size > 10 {
        // SQS takes batches over 10 only with a batching window.
        mapping["MaximumBatchingWindowInSeconds"] = json!(1);
    }
    stack.resources.insert(
        format!("{id}Mapping"),
        json!({ "Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping }),
    );
    stack.outputs.insert(
        function.clone(),
        json!({
            "Description": format!("Function of `{}`", handler.function),
            "Value": reference(&function),
        }),
    );
}

/// The logical ID of the stack's schedule group (see [`render`]).
const SCHEDULE_GROUP: &str = "DelaySchedules";

/// What a schedule sends to its handler's queue: an EventBridge event as a schedule's rule sends
/// it (`Scheduled Event`), its time the time the schedule was due, filled in by EventBridge
/// Scheduler, so that a handler reads the same whichever sends it.
const SCHEDULED_EVENT: &str = r#"{"version":"0","id":"<aws.scheduler.execution-id>","detail-type":"Scheduled Event","source":"aws.scheduler","account":"${AWS::AccountId}","time":"<aws.scheduler.scheduled-time>","region":"${AWS::Region}","resources":["<aws.scheduler.schedule-arn>"],"detail":{}}"#;

/// A schedule: an EventBridge Scheduler schedule in the stack's group `group`, read in its time
/// zone, sending to its handler's queue `queue` with a role that may send there and to its dead
/// letters `dead` only, retrying as a rule's target does.
fn schedule_resources(
    stack: &mut Nested,
    handler: &Handler,
    queue: &str,
    dead: &str,
    group: Value,
) {
    let id = resource_id(Kind::Schedule, &handler.name);
    let role = format!("{id}Role");
    stack.resources.insert(
        role.clone(),
        scheduler_role("schedule", [arn(queue), arn(dead)]),
    );
    let window = match handler.flexible_window {
        Some(minutes) => json!({ "Mode": "FLEXIBLE", "MaximumWindowInMinutes": minutes }),
        None => json!({ "Mode": "OFF" }),
    };
    let mut properties = json!({
        "Description": format!("Schedule `{}` of `{}`", handler.name, handler.function),
        "GroupName": group,
        "ScheduleExpression": handler.schedule.clone().unwrap_or_default(),
        "FlexibleTimeWindow": window,
        "State": "ENABLED",
        "Target": {
            "Arn": arn(queue),
            "RoleArn": arn(&role),
            "Input": sub(SCHEDULED_EVENT.to_owned()),
            "RetryPolicy": {
                "MaximumRetryAttempts": RULE_MAX_RETRIES,
                "MaximumEventAgeInSeconds": RULE_MAX_EVENT_AGE,
            },
            "DeadLetterConfig": { "Arn": arn(dead) },
        },
    });
    if let Some(zone) = &handler.timezone {
        properties["ScheduleExpressionTimezone"] = json!(zone);
    }
    stack.resources.insert(
        format!("{id}Schedule"),
        json!({ "Type": "AWS::Scheduler::Schedule", "Properties": properties }),
    );
}

/// The managed policies of what every function may publish to: the app's topics, buses and
/// queues, and its delay queue and schedules. Shared rather than written into each role, so a
/// role stays small however many events the app has, and adding an event changes these
/// policies, not every nested stack. [`ARNS_PER_POLICY`] ARNs each.
fn publish_policies(publishing: &Publishing) -> Vec<(String, Value)> {
    let mut arns: Vec<(&str, Value)> = Vec::new();
    arns.extend(publishing.topics.iter().map(|t| ("sns:Publish", t.clone())));
    arns.extend(
        publishing
            .buses
            .iter()
            .map(|b| ("events:PutEvents", b.clone())),
    );
    arns.extend(
        publishing
            .queues
            .iter()
            .map(|q| ("sqs:SendMessage", q.clone())),
    );
    if publishing.delays {
        arns.push(("sqs:SendMessage", arn("DelayQueue")));
    }
    let mut policies = Vec::new();
    for (n, chunk) in arns.chunks(ARNS_PER_POLICY).enumerate() {
        let mut statements = Vec::new();
        for action in ["sns:Publish", "events:PutEvents", "sqs:SendMessage"] {
            let resources: Vec<Value> = chunk
                .iter()
                .filter(|(a, _)| *a == action)
                .map(|(_, arn)| arn.clone())
                .collect();
            if !resources.is_empty() {
                statements
                    .push(json!({ "Effect": "Allow", "Action": action, "Resource": resources }));
            }
        }
        if n == 0 {
            if !publishing.topics.is_empty() {
                // Publishing to a topic encrypted with the AWS managed key: only through SNS.
                statements.push(json!({
                    "Effect": "Allow",
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*".to_owned()),
                    "Condition": { "StringEquals": { "kms:ViaService": sub("sns.${AWS::Region}.amazonaws.com".to_owned()) } },
                }));
            }
            if publishing.delays {
                // One-time schedules in this stack's group, run with the scheduler's role only.
                statements.push(json!({
                    "Effect": "Allow",
                    "Action": "scheduler:CreateSchedule",
                    "Resource": sub("arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${AWS::StackName}/*".to_owned()),
                }));
                statements.push(json!({
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": arn("SchedulerRole"),
                    "Condition": { "StringEquals": { "iam:PassedToService": "scheduler.amazonaws.com" } },
                }));
            }
        }
        let id = match n {
            0 => "PublishPolicy".to_owned(),
            n => format!("PublishPolicy{}", n + 1),
        };
        policies.push((
            id,
            json!({
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": "What every function of the app may publish to",
                    "PolicyDocument": { "Version": "2012-10-17", "Statement": statements },
                },
            }),
        ));
    }
    policies
}

/// How many times a rule's target retries a delivery to its queue, and for how long: EventBridge's
/// most, so that an event is lost only when SQS refuses it for a day.
const RULE_MAX_RETRIES: u32 = 185;
const RULE_MAX_EVENT_AGE: u32 = 86_400;

/// The name of the app's bus `id`. Not `Ref`, which moto answers with no name.
fn bus_name(id: &str) -> Value {
    json!({ "Fn::GetAtt": [id, "Name"] })
}

/// A policy that lets `service` send to `queue`, from `source` (an ARN) only.
fn queue_policy(queue: &str, service: &str, source: Value) -> Value {
    json!({
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [reference(queue)],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": service },
                    "Action": "sqs:SendMessage",
                    "Resource": arn(queue),
                    "Condition": { "ArnEquals": { "aws:SourceArn": source } },
                }],
            },
        }
    })
}

/// What functions may publish to: this app's topics and queues, and its delay queue and
/// schedules when it has any of those.
struct Publishing {
    /// The app's own buses, which `put_event` puts on.
    buses: Vec<Value>,
    topics: Vec<Value>,
    queues: Vec<Value>,
    delays: bool,
}

/// How long the function of delayed messages may take to send on a batch, in seconds.
const DELAY_FUNCTION_TIMEOUT: u32 = 30;

/// Receives of a delayed message before it goes to the delay queue's dead letters.
const DELAY_RECEIVES: u32 = 5;

/// The JSON of [`eventfn_core::delay::DelayRoute`], filled in by CloudFormation. The group is
/// named after the stack rather than referenced, so no function waits for it.
fn delay_route() -> Value {
    sub(r#"{"queue":"${DelayQueue}","queueArn":"${DelayQueue.Arn}","group":"${AWS::StackName}","role":"${SchedulerRole.Arn}","deadLettersArn":"${DelayDeadLetters.Arn}"}"#.to_owned())
}

/// The delay queue and its function, the schedule group and the scheduler's role: see
/// [`eventfn_core::delay`].
fn delay_resources(
    manifest: &Manifest,
    kms_key: Option<&str>,
    resources: &mut serde_json::Map<String, Value>,
    outputs: &mut serde_json::Map<String, Value>,
    policy_arns: &[Value],
) {
    resources.insert(
        "DelayDeadLetters".into(),
        sqs_queue(json!({
            "MessageRetentionPeriod": DEAD_LETTER_RETENTION,
            "SqsManagedSseEnabled": true,
        })),
    );
    resources.insert(
        "DelayQueue".into(),
        sqs_queue(json!({
            "MessageRetentionPeriod": MAX_RETENTION_SECS,
            "SqsManagedSseEnabled": true,
            "VisibilityTimeout": 6 * DELAY_FUNCTION_TIMEOUT,
            "RedrivePolicy": {
                "deadLetterTargetArn": arn("DelayDeadLetters"),
                "maxReceiveCount": DELAY_RECEIVES,
            },
        })),
    );
    resources.insert(
        "DelayParameter".into(),
        json!({
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": sub(format!("/${{AWS::StackName}}/{DELAY_PARAMETER}")),
                "Type": "String",
                "Value": delay_route(),
                "Description": "Where delayed messages wait: the delay queue and schedule group",
            }
        }),
    );
    // The scheduler may only send to the delay queue (and what it would not take, to its dead
    // letters), and only for schedules of this account.
    resources.insert(
        "SchedulerRole".into(),
        scheduler_role("delay-queue", [arn("DelayQueue"), arn("DelayDeadLetters")]),
    );
    let function_name = "${AWS::StackName}-eventfn-delay";
    resources.insert("DelayLogs".into(), log_group(function_name, kms_key));
    resources.insert(
        "DelayRole".into(),
        lambda_role(
            own_statements(function_name, arn("DelayQueue"), "AWS::StackName", kms_key),
            Some(json!(policy_arns)),
        ),
    );
    let mut environment = serde_json::Map::new();
    environment.insert("EVENTFN_STACK".into(), reference("AWS::StackName"));
    environment.insert(DELAY_ENV.into(), delay_route());
    let mut properties = function_properties(
        manifest,
        function_name,
        DELAYED_HANDLER,
        "DelayRole",
        "DelayLogs",
        environment,
        kms_key,
    );
    properties["Description"] =
        json!("eventfn: sends delayed events and jobs on to their topic or queue when due");
    properties["MemorySize"] = json!(128);
    properties["Timeout"] = json!(DELAY_FUNCTION_TIMEOUT);
    let mut skipped = function_skips("DelayDeadLetters", kms_key);
    skipped.push((
        RESERVED_CONCURRENCY,
        format!("eventfn's function of delayed messages: {UNRESERVED}"),
    ));
    resources.insert(
        "DelayFunction".into(),
        json!({
            "Type": "AWS::Lambda::Function",
            "Properties": properties,
            "Metadata": skips(&skipped),
        }),
    );
    resources.insert(
        "DelayMapping".into(),
        json!({
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": arn("DelayQueue"),
                "FunctionName": reference("DelayFunction"),
                "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            }
        }),
    );
    outputs.insert(
        "DelayDeadLetters".into(),
        json!({
            "Description": "Dead letters of `delayed publishes` that could not be sent on",
            "Value": reference("DelayDeadLetters"),
        }),
    );
}

/// A function's log group, kept [`LOG_RETENTION_DAYS`] and deleted with the stack, encrypted
/// with `kms_key` when set.
fn log_group(function_name: &str, kms_key: Option<&str>) -> Value {
    let mut group = json!({
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": sub(format!("/aws/lambda/{function_name}")),
            "RetentionInDays": LOG_RETENTION_DAYS,
        }
    });
    match kms_key {
        Some(key) => group["Properties"]["KmsKeyId"] = json!(key),
        None => group["Metadata"] = skips(&[(LOG_GROUP_KMS, LOG_GROUP_KMS_REASON.to_owned())]),
    }
    group
}

/// What every function skips, whatever its handler: see [`FUNCTION_VPC_REASON`]; a Lambda-level
/// dead-letter queue, since what fails goes to `dead` (a logical ID); without `kms_key`, a
/// customer managed key for its environment.
fn function_skips(dead: &str, kms_key: Option<&str>) -> Vec<(&'static str, String)> {
    let mut skipped = vec![
        (
            FUNCTION_DLQ,
            format!(
                "Invoked only by its SQS event source mapping, synchronously: a Lambda \
                 dead-letter queue (for failed asynchronous invocations) would get nothing. What \
                 fails every attempt goes to {dead} by its queue's redrive policy."
            ),
        ),
        (FUNCTION_VPC, FUNCTION_VPC_REASON.to_owned()),
    ];
    if kms_key.is_none() {
        skipped.push((ENVIRONMENT_KMS, ENVIRONMENT_KMS_REASON.to_owned()));
    }
    skipped
}

/// What a function may do with what is its own: write its logs, read its queue (`queue`, an ARN)
/// and the app's SSM parameters (under the stack the parameter `stack` names), and decrypt with
/// `kms_key`. What it may publish to is in the app's managed policies ([`publish_policies`]).
fn own_statements(
    function_name: &str,
    queue: Value,
    stack: &str,
    kms_key: Option<&str>,
) -> Vec<Value> {
    let mut statements = vec![
        json!({
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": sub(format!(
                "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{function_name}:*"
            )),
        }),
        json!({
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
            "Resource": queue,
        }),
        json!({
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": sub(format!("arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/${{{stack}}}/*")),
        }),
    ];
    if let Some(key) = kms_key {
        // Lambda decrypts the environment with the role's permissions when it starts the
        // function; the log group's encryption is CloudWatch Logs' own use of the key.
        statements.push(json!({
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key,
        }));
    }
    statements
}

/// A role EventBridge Scheduler assumes for schedules of this account only, which may send to
/// `queues` (a queue and its dead letters) and do nothing else.
fn scheduler_role(policy_name: &str, queues: [Value; 2]) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": assumed_by(
                "scheduler.amazonaws.com",
                Some(json!({ "StringEquals": { "aws:SourceAccount": reference("AWS::AccountId") } })),
            ),
            "Policies": [{
                "PolicyName": policy_name,
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Action": "sqs:SendMessage",
                        "Resource": queues,
                    }],
                },
            }],
        }
    })
}

/// The trust policy of a role that `service` may assume, on `condition` when given.
fn assumed_by(service: &str, condition: Option<Value>) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": { "Service": service },
        "Action": "sts:AssumeRole",
    });
    if let Some(condition) = condition {
        statement["Condition"] = condition;
    }
    json!({ "Version": "2012-10-17", "Statement": [statement] })
}

/// A role Lambda assumes, allowed `statements` and the managed policies `managed` (a list of
/// ARNs) when given.
fn lambda_role(statements: Vec<Value>, managed: Option<Value>) -> Value {
    let mut role = json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": assumed_by("lambda.amazonaws.com", None),
            "Policies": [{
                "PolicyName": "handler",
                "PolicyDocument": { "Version": "2012-10-17", "Statement": statements },
            }],
        }
    });
    if let Some(managed) = managed.filter(|m| m.as_array().is_none_or(|m| !m.is_empty())) {
        role["Properties"]["ManagedPolicyArns"] = managed;
    }
    role
}

/// The properties every function of the app has; the caller adds its description, memory and
/// timeout.
fn function_properties(
    manifest: &Manifest,
    function_name: &str,
    handler: &str,
    role: &str,
    logs: &str,
    mut environment: serde_json::Map<String, Value>,
    kms_key: Option<&str>,
) -> Value {
    environment.insert("EVENTFN_HANDLER".into(), json!(handler));
    let mut properties = json!({
        "FunctionName": sub(function_name.to_owned()),
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Architectures": [manifest.architecture.as_str()],
        "Role": arn(role),
        "Code": { "S3Bucket": reference("CodeBucket"), "S3Key": reference("CodeKey") },
        "Environment": { "Variables": environment },
        "LoggingConfig": { "LogGroup": reference(logs) },
    });
    if let Some(key) = kms_key {
        properties["KmsKeyArn"] = json!(key);
    }
    properties
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    /// An event handler reserving 3 concurrent executions and a queue handler reserving none.
    fn manifest() -> Manifest {
        let handler = |kind: &str, name: &str, function: &str, options: Value| {
            json!({
                "kind": kind, "name": name, "function": function, "payload": null,
                "context": false, "options": options,
                "source": { "file": "src/main.rs", "line": 1, "column": 1 },
            })
        };
        serde_json::from_value(json!({
            "version": 1, "app": "kms", "package": "kms", "binary": "kms",
            "architecture": "x86_64", "region": null,
            "handlers": [
                handler("event", "signup", "kms::welcome",
                    json!({ "timeout": 5, "retries": 2, "memory": 128, "concurrency": 3 })),
                handler("queue", "jobs", "kms::job",
                    json!({ "timeout": 5, "retries": 2, "memory": 128 })),
            ],
        }))
        .unwrap()
    }

    fn resources(kms_key: Option<&str>) -> serde_json::Map<String, Value> {
        let template = render(&manifest(), kms_key).flat();
        template["Resources"].as_object().unwrap().clone()
    }

    fn of_type<'a>(
        resources: &'a serde_json::Map<String, Value>,
        kind: &str,
    ) -> Vec<(&'a String, &'a Value)> {
        resources
            .iter()
            .filter(|(_, r)| r["Type"] == kind)
            .collect()
    }

    #[test]
    fn every_function_runs_on_the_manifests_architecture() {
        use eventfn_core::manifest::Architecture;
        for architecture in [Architecture::X86_64, Architecture::Arm64] {
            let manifest = Manifest {
                architecture,
                ..manifest()
            };
            let template = render(&manifest, None).flat();
            let resources = template["Resources"].as_object().unwrap();
            let functions = of_type(resources, "AWS::Lambda::Function");
            assert!(functions.len() >= 2, "{functions:?}");
            for (_, function) in functions {
                assert_eq!(
                    function["Properties"]["Architectures"],
                    json!([architecture.as_str()])
                );
            }
        }
    }

    /// The IDs a resource's `Metadata` makes checkov skip, each checked to say why.
    fn skipped(resource: &Value) -> Vec<&str> {
        let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_array() else {
            return Vec::new();
        };
        skips
            .iter()
            .map(|skip| {
                let comment = skip["comment"].as_str().unwrap_or_default();
                assert!(comment.len() > 40, "a skip without its reason: {skip}");
                skip["id"].as_str().unwrap()
            })
            .collect()
    }

    /// Whether `role` may decrypt with `key`.
    fn may_decrypt(role: &Value, key: &str) -> bool {
        role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .contains(&json!({ "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key }))
    }

    #[test]
    fn a_kms_key_encrypts_every_log_group_and_environment_and_every_role_may_decrypt() {
        let resources = resources(Some(KEY));
        let groups = of_type(&resources, "AWS::Logs::LogGroup");
        let functions = of_type(&resources, "AWS::Lambda::Function");
        assert_eq!((groups.len(), functions.len()), (3, 3));
        for (id, group) in groups {
            assert_eq!(group["Properties"]["KmsKeyId"], KEY, "{id}");
            assert!(skipped(group).is_empty(), "{id}");
        }
        for (id, function) in functions {
            assert_eq!(function["Properties"]["KmsKeyArn"], KEY, "{id}");
            assert!(!skipped(function).contains(&ENVIRONMENT_KMS), "{id}");
            let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap();
            assert!(may_decrypt(&resources[role], KEY), "{role}");
        }
    }

    #[test]
    fn without_a_kms_key_log_groups_and_environments_say_why_they_have_none() {
        let resources = resources(None);
        for (id, group) in of_type(&resources, "AWS::Logs::LogGroup") {
            assert!(group["Properties"].get("KmsKeyId").is_none(), "{id}");
            assert_eq!(skipped(group), [LOG_GROUP_KMS], "{id}");
        }
        for (id, function) in of_type(&resources, "AWS::Lambda::Function") {
            assert!(function["Properties"].get("KmsKeyArn").is_none(), "{id}");
            assert!(skipped(function).contains(&ENVIRONMENT_KMS), "{id}");
        }
        for (id, role) in of_type(&resources, "AWS::IAM::Role") {
            assert!(!may_decrypt(role, KEY), "{id}");
        }
    }

    #[test]
    fn concurrency_is_reserved_where_a_handler_sets_it_and_explained_where_not() {
        let resources = resources(None);
        let welcome = &resources["HandlerWelcomeFunction"];
        assert_eq!(welcome["Properties"]["ReservedConcurrentExecutions"], 3);
        assert_eq!(
            skipped(welcome),
            [FUNCTION_DLQ, FUNCTION_VPC, ENVIRONMENT_KMS]
        );
        for id in ["HandlerJobFunction", "DelayFunction"] {
            let function = &resources[id];
            assert!(
                function["Properties"]
                    .get("ReservedConcurrentExecutions")
                    .is_none()
            );
            assert_eq!(
                skipped(function),
                [
                    FUNCTION_DLQ,
                    FUNCTION_VPC,
                    ENVIRONMENT_KMS,
                    RESERVED_CONCURRENCY
                ],
                "{id}"
            );
        }
        // Each function's dead-letter skip names the dead-letter queue its queue redrives to.
        let comment = welcome["Metadata"]["checkov"]["skip"][0]["comment"]
            .as_str()
            .unwrap();
        assert!(comment.contains("HandlerWelcomeDeadLetters"), "{comment}");
    }

    #[test]
    fn every_queue_says_it_is_encrypted_with_sqs_managed_keys() {
        let resources = resources(None);
        let queues = of_type(&resources, "AWS::SQS::Queue");
        assert_eq!(queues.len(), 6);
        for (id, queue) in queues {
            assert_eq!(queue["Properties"]["SqsManagedSseEnabled"], true, "{id}");
            assert_eq!(skipped(queue), [QUEUE_KMS], "{id}");
        }
    }

    /// A manifest of `n` handlers of every kind, on `n / 3` events and with `n / 5` queues.
    fn large(n: usize) -> Manifest {
        let mut handlers = Vec::new();
        for i in 0..n {
            let (kind, name, extra) = match i % 5 {
                0 => ("queue", format!("jobs-{i}"), json!({})),
                1 => (
                    "schedule",
                    format!("tick-{i}"),
                    json!({ "schedule": "rate(1 hour)" }),
                ),
                2 => (
                    "rule",
                    format!("watch-{i}"),
                    json!({ "bus": "orders", "pattern": { "source": ["shop"] } }),
                ),
                _ => (
                    "event",
                    format!("happened-{}", i % (n / 3).max(1)),
                    json!({}),
                ),
            };
            let mut handler = json!({
                "kind": kind, "name": name, "function": format!("big::handler_{i}"),
                "payload": null, "context": false,
                "options": { "timeout": 5, "retries": 2, "memory": 128 },
                "source": { "file": "src/main.rs", "line": i + 1, "column": 1 },
            });
            for (key, value) in extra.as_object().unwrap() {
                handler[key] = value.clone();
            }
            handlers.push(handler);
        }
        let mut manifest: Manifest = serde_json::from_value(json!({
            "version": 1, "app": "big", "package": "big", "binary": "big",
            "architecture": "x86_64", "region": null, "handlers": handlers,
        }))
        .unwrap();
        manifest.sort();
        manifest
    }

    #[test]
    fn handlers_go_to_the_nested_stack_their_functions_name_hashes_to() {
        // Fixed by the name alone: a release that moved handlers would replace their queues.
        assert_eq!(group("big::handler_0"), group("big::handler_0"));
        let groups: BTreeSet<String> = (0..200).map(|i| group(&format!("a::f{i}"))).collect();
        assert_eq!(groups.len(), GROUPS as usize, "{groups:?}");
        assert!(
            groups
                .iter()
                .all(|g| g.len() == "Handlers00".len() && g.starts_with("Handlers"))
        );
        let templates = render(&manifest(), None);
        assert_eq!(
            templates.nested.keys().cloned().collect::<BTreeSet<_>>(),
            [group("kms::welcome"), group("kms::job")]
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn three_hundred_handlers_fit_cloudformations_limits_in_every_template() {
        let templates = render(&large(300), None);
        templates.check_limits().unwrap();
        assert_eq!(templates.nested.len(), GROUPS as usize);
        let flat = templates.flat();
        let functions = of_type(
            flat["Resources"].as_object().unwrap(),
            "AWS::Lambda::Function",
        );
        assert_eq!(functions.len(), 301, "300 handlers and the delay function");
        for (id, nested) in &templates.nested {
            let resources = nested["Resources"].as_object().unwrap().len();
            assert!(
                resources > 20 && resources <= MAX_RESOURCES,
                "{id}: {resources}"
            );
        }
    }

    #[test]
    fn adding_a_handler_changes_its_nested_stack_and_no_other() {
        let before = render(&large(300), None);
        let mut grown = large(300);
        let mut added = grown.handlers[0].clone();
        added.function = "big::one_more".into();
        added.name = "one-more".into();
        grown.handlers.push(added);
        grown.sort();
        let after = render(&grown, None);
        let changed: Vec<&String> = after
            .nested
            .iter()
            .filter(|(id, t)| before.nested.get(*id) != Some(*t))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(changed, [&group("big::one_more")]);
        // The parent: that stack's address, and the new queue's resources.
        let resources = |t: &Templates| t.parent["Resources"].as_object().unwrap().clone();
        let (old, new) = (resources(&before), resources(&after));
        for (id, resource) in &old {
            if id != changed[0] && !id.starts_with("PublishPolicy") {
                assert_eq!(Some(resource), new.get(id), "{id} changed");
            }
        }
        // Existing resources in the changed stack are as they were.
        let (old, new) = (&before.nested[changed[0]], &after.nested[changed[0]]);
        for (id, resource) in old["Resources"].as_object().unwrap() {
            assert_eq!(Some(resource), new["Resources"].get(id), "{id} changed");
        }
    }

    #[test]
    fn nested_stacks_name_things_after_the_apps_stack() {
        let templates = render(&manifest(), None);
        let nested = &templates.nested[&group("kms::welcome")];
        let function = &nested["Resources"]["HandlerWelcomeFunction"]["Properties"];
        assert_eq!(
            function["FunctionName"],
            json!({ "Fn::Sub": "${App}-Welcome" })
        );
        assert_eq!(
            function["Environment"]["Variables"]["EVENTFN_STACK"],
            json!({ "Ref": "App" })
        );
        let passed =
            &templates.parent["Resources"][group("kms::welcome")]["Properties"]["Parameters"];
        assert_eq!(passed["App"], json!({ "Ref": "AWS::StackName" }));
        assert_eq!(
            passed["EventSignupTopic"],
            json!({ "Ref": "EventSignupTopic" })
        );
        // As one template, the stack's name is filled in where the nested stack had `App`.
        let flat = templates.flat();
        let function = &flat["Resources"]["HandlerWelcomeFunction"]["Properties"];
        assert_eq!(
            function["FunctionName"],
            json!({ "Fn::Sub": "${AWS::StackName}-Welcome" })
        );
        assert_eq!(
            flat["Resources"]["HandlerJobMapping"]["Properties"]["EventSourceArn"],
            json!({ "Fn::GetAtt": ["QueueJobs", "Arn"] })
        );
        assert!(flat["Resources"].get(group("kms::welcome")).is_none());
        // Every parameter a nested stack declares is passed, and nothing else.
        for (id, nested) in &templates.nested {
            let declared: BTreeSet<&String> =
                nested["Parameters"].as_object().unwrap().keys().collect();
            let passed: BTreeSet<&String> =
                templates.parent["Resources"][id]["Properties"]["Parameters"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .collect();
            assert_eq!(declared, passed, "{id}");
        }
    }

    #[test]
    fn a_template_past_a_limit_is_named_with_the_limit_and_its_count() {
        let mut templates = render(&manifest(), None);
        let id = group("kms::welcome");
        let resources = templates.nested.get_mut(&id).unwrap()["Resources"]
            .as_object_mut()
            .unwrap();
        for i in 0..MAX_RESOURCES {
            resources.insert(format!("Extra{i}"), json!({ "Type": "AWS::SNS::Topic" }));
        }
        let count = resources.len();
        let err = templates.check_limits().unwrap_err();
        assert!(
            err.contains(&format!(
                "nested stack {id} has {count} resources, CloudFormation allows 500"
            )),
            "{err}"
        );
    }
}
