//! `template.json`: the app as plain CloudFormation (no SAM transform), from its manifest.
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
//! - A schedule is an EventBridge rule that sends to its handler's queue.
//! - A `#[rule]` is an EventBridge rule on its bus, with its pattern, that sends to its handler's
//!   queue, with a retry policy (EventBridge's longest: 185 retries over 24 hours) and the
//!   handler's dead-letter queue for what it cannot deliver. Each bus of the app's own
//!   (a name that is not `default`, a partner bus or an ARN) is an `AWS::Events::EventBus` named
//!   `<stack>-<name>`, with the parameter `/<stack>/buses/<name>` holding its name. A rule on a
//!   partner bus needs that bus to exist (created from the partner's event source); one on an ARN
//!   names a bus of the same account (EventBridge keeps a rule in its bus's account).
//! - Queues are encrypted with SQS-managed keys, which SNS and EventBridge can deliver to.
//! - Each function's role may write its own logs, read its own queue, publish to this app's topics,
//!   send to this app's queues and read this stack's parameters: nothing else.
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
//! checkov (run on every fixture's template by the tests) passes the template. Where one of its
//! policies does not fit, the resource says why in a `Metadata` skip (see [`skips`]): the
//! functions' Lambda-level dead-letter queues, VPC and, without `concurrency`, reserved
//! concurrency; without `kms_key`, the log groups' and environments' customer managed keys; and
//! the queues' KMS keys, which the check looks for although SQS-managed keys encrypt them.
//!
//! Logical IDs come from [`eventfn_core::logical`]. Keys are sorted (`serde_json`'s map), so the
//! same manifest gives the same bytes.

use eventfn_core::dead::{ATTEMPTS_ENV, DEAD_LETTERS_ENV};
use eventfn_core::delay::{DELAY_ENV, DELAY_PARAMETER, DELAYED_HANDLER};
use eventfn_core::logical::{bus_id, function_id, resource_id};
use eventfn_core::options::MAX_RETENTION_SECS;
use eventfn_core::pattern::Bus;
use eventfn_core::{Handler, Kind, Manifest};
use serde_json::{Value, json};

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

/// The template of `manifest`, as pretty JSON; `kms_key`, the ARN of the app's `kms_key`,
/// encrypts its log groups and functions' environments when set.
pub fn render(manifest: &Manifest, kms_key: Option<&str>) -> String {
    let mut resources = serde_json::Map::new();
    let mut outputs = serde_json::Map::new();
    let mut topics = serde_json::Map::new();
    let mut queues = serde_json::Map::new();

    let mut event_names: Vec<&str> = manifest.names(Kind::Event);
    event_names.dedup();
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
            json!({
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": sub(format!("/${{AWS::StackName}}/events/{name}")),
                    "Type": "String",
                    "Value": reference(&topic),
                    "Description": format!("The SNS topic of event `{name}`"),
                }
            }),
        );
        topics.insert((*name).to_owned(), reference(&topic));
        outputs.insert(
            topic.clone(),
            json!({ "Description": format!("Event `{name}`"), "Value": reference(&topic) }),
        );
    }
    for handler in manifest.of_kind(Kind::Queue) {
        queues.insert(handler.name.clone(), reference(&source_queue(handler)));
    }
    for name in manifest.own_buses() {
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
            json!({
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": sub(format!("/${{AWS::StackName}}/buses/{name}")),
                    "Type": "String",
                    "Value": bus_name(&bus),
                    "Description": format!("The EventBridge bus `{name}`"),
                }
            }),
        );
        outputs.insert(
            bus.clone(),
            json!({ "Description": format!("Bus `{name}`"), "Value": arn(&bus) }),
        );
    }

    // What every function may publish to, and where it finds it.
    let delays = !topics.is_empty() || !queues.is_empty();
    let own_buses = manifest.own_buses();
    let publishing = Publishing {
        buses: own_buses.iter().map(|name| arn(&bus_id(name))).collect(),
        topics: topics.values().cloned().collect(),
        queues: manifest
            .of_kind(Kind::Queue)
            .map(|h| arn(&source_queue(h)))
            .collect(),
        delays,
    };
    let mut addresses = serde_json::Map::new();
    addresses.insert("EVENTFN_STACK".into(), reference("AWS::StackName"));
    addresses.insert("EVENTFN_TOPICS".into(), json_of_references(&topics));
    addresses.insert("EVENTFN_QUEUES".into(), json_of_references(&queues));
    if !own_buses.is_empty() {
        // The name EventBridge knows each bus of the app by, for `put_event`.
        let pieces: Vec<String> = own_buses
            .iter()
            .map(|name| {
                format!(
                    "{}:\"${{{}.Name}}\"",
                    Value::String((*name).to_owned()),
                    bus_id(name)
                )
            })
            .collect();
        addresses.insert(
            "EVENTFN_BUSES".into(),
            sub(format!("{{{}}}", pieces.join(","))),
        );
    }
    if delays {
        addresses.insert(DELAY_ENV.into(), delay_route());
        delay_resources(
            manifest,
            kms_key,
            &mut resources,
            &mut outputs,
            &publishing,
            &addresses,
        );
    }

    for handler in &manifest.handlers {
        let id = format!("Handler{}", function_id(&handler.function));
        let fifo = handler.options.fifo == Some(true);
        let queue = source_queue(handler);
        let dead = format!("{id}DeadLetters");
        let function = format!("{id}Function");
        let logs = format!("{id}Logs");
        let function_name = format!("${{AWS::StackName}}-{}", function_id(&handler.function));
        let timeout = handler.options.timeout;

        let mut dead_properties = json!({
            "MessageRetentionPeriod": DEAD_LETTER_RETENTION,
            "SqsManagedSseEnabled": true,
        });
        let mut queue_properties = json!({
            // Long enough for every attempt: the build checks that they fit.
            "MessageRetentionPeriod": MAX_RETENTION_SECS,
            "SqsManagedSseEnabled": true,
            "VisibilityTimeout": 6 * timeout,
            "RedrivePolicy": {
                "deadLetterTargetArn": arn(&dead),
                "maxReceiveCount": handler.options.retries + 1,
            },
        });
        if fifo {
            // FIFO queues' names end in `.fifo`, so they are named here.
            queue_properties["FifoQueue"] = json!(true);
            queue_properties["QueueName"] = sub(format!(
                "${{AWS::StackName}}-{}.fifo",
                resource_id(Kind::Queue, &handler.name)
            ));
            dead_properties["FifoQueue"] = json!(true);
            dead_properties["QueueName"] = sub(format!("{function_name}-dead.fifo"));
        }
        resources.insert(dead.clone(), sqs_queue(dead_properties));
        resources.insert(queue.clone(), sqs_queue(queue_properties));
        outputs.insert(
            dead.clone(),
            json!({
                "Description": format!("Dead letters of `{}`", handler.function),
                "Value": reference(&dead),
            }),
        );

        // Who may send to the handler's queue: its topic, or its rule.
        let sender = match handler.kind {
            Kind::Event => {
                let topic = format!("{}Topic", resource_id(Kind::Event, &handler.name));
                let mut subscription = json!({
                    "Protocol": "sqs",
                    "TopicArn": reference(&topic),
                    "Endpoint": arn(&queue),
                    "RawMessageDelivery": true,
                });
                // The handler's filter, on the payload: the message body, as published.
                if let Some(filter) = &handler.filter {
                    subscription["FilterPolicy"] = filter.clone();
                    subscription["FilterPolicyScope"] = json!("MessageBody");
                }
                resources.insert(
                    format!("{id}Subscription"),
                    json!({ "Type": "AWS::SNS::Subscription", "Properties": subscription }),
                );
                Some(("sns.amazonaws.com", reference(&topic)))
            }
            Kind::Schedule => {
                let rule = format!("{}Rule", resource_id(Kind::Schedule, &handler.name));
                resources.insert(
                    rule.clone(),
                    json!({
                        "Type": "AWS::Events::Rule",
                        "Properties": {
                            "Description": format!("Schedule `{}` of `{}`", handler.name, handler.function),
                            "ScheduleExpression": handler.schedule.clone().unwrap_or_default(),
                            "State": "ENABLED",
                            "Targets": [{ "Arn": arn(&queue), "Id": "handler" }],
                        }
                    }),
                );
                Some(("events.amazonaws.com", arn(&rule)))
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
                        properties["EventBusName"] = bus_name(&bus_id(&name));
                    }
                    Ok(Bus::Default) | Err(_) => {}
                    Ok(Bus::Partner(name) | Bus::Arn(name)) => {
                        properties["EventBusName"] = json!(name);
                    }
                }
                resources.insert(
                    rule.clone(),
                    json!({ "Type": "AWS::Events::Rule", "Properties": properties }),
                );
                // What the rule cannot deliver goes to the handler's dead letters.
                resources.insert(
                    format!("{id}DeadLettersPolicy"),
                    queue_policy(&dead, "events.amazonaws.com", arn(&rule)),
                );
                Some(("events.amazonaws.com", arn(&rule)))
            }
            Kind::Queue => {
                resources.insert(
                    format!("{}Parameter", resource_id(Kind::Queue, &handler.name)),
                    json!({
                        "Type": "AWS::SSM::Parameter",
                        "Properties": {
                            "Name": sub(format!("/${{AWS::StackName}}/queues/{}", handler.name)),
                            "Type": "String",
                            "Value": reference(&queue),
                            "Description": format!("The SQS queue `{}`", handler.name),
                        }
                    }),
                );
                outputs.insert(
                    queue.clone(),
                    json!({
                        "Description": format!("Queue `{}`", handler.name),
                        "Value": reference(&queue),
                    }),
                );
                None
            }
        };
        if let Some((service, source)) = sender {
            resources.insert(
                format!("{id}QueuePolicy"),
                queue_policy(&queue, service, source),
            );
        }

        resources.insert(logs.clone(), log_group(&function_name, kms_key));

        let mut statements = role_statements(&function_name, &queue, &publishing, kms_key);
        // Its last failed attempt goes to its dead letters with why (see `eventfn_core::dead`).
        statements.push(json!({
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": arn(&dead),
        }));
        let role = format!("{id}Role");
        resources.insert(role.clone(), lambda_role(statements));
        let mut properties = function_properties(
            manifest,
            &function_name,
            &handler.function,
            &role,
            &logs,
            &addresses,
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
        let variables = &mut properties["Environment"]["Variables"];
        variables[DEAD_LETTERS_ENV] = reference(&dead);
        variables[ATTEMPTS_ENV] = json!((handler.options.retries + 1).to_string());
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
        resources.insert(
            function.clone(),
            json!({
                "Type": "AWS::Lambda::Function",
                "Properties": properties,
                "Metadata": skips(&skipped),
            }),
        );
        let batch_size = handler.options.batch_size.unwrap_or(10);
        let mut mapping = json!({
            "EventSourceArn": arn(&queue),
            "FunctionName": reference(&function),
            "BatchSize": batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        });
        if batch_size > 10 {
            // SQS takes batches over 10 only with a batching window.
            mapping["MaximumBatchingWindowInSeconds"] = json!(1);
        }
        resources.insert(
            format!("{id}Mapping"),
            json!({ "Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping }),
        );
        outputs.insert(
            function.clone(),
            json!({
                "Description": format!("Function of `{}`", handler.function),
                "Value": reference(&function),
            }),
        );
    }

    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("eventfn app `{}`", manifest.app),
        "Parameters": {
            "CodeBucket": { "Type": "String", "Description": "S3 bucket of bootstrap.zip" },
            "CodeKey": { "Type": "String", "Description": "S3 key of bootstrap.zip" },
        },
        "Resources": resources,
        "Outputs": outputs,
    });
    let mut text = serde_json::to_string_pretty(&template).expect("a JSON value serializes");
    text.push('\n');
    text
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
    publishing: &Publishing,
    addresses: &serde_json::Map<String, Value>,
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
        "DelaySchedules".into(),
        json!({
            "Type": "AWS::Scheduler::ScheduleGroup",
            "Properties": { "Name": reference("AWS::StackName") }
        }),
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
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": assumed_by(
                    "scheduler.amazonaws.com",
                    Some(json!({ "StringEquals": { "aws:SourceAccount": reference("AWS::AccountId") } })),
                ),
                "Policies": [{
                    "PolicyName": "delay-queue",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Action": "sqs:SendMessage",
                            "Resource": [arn("DelayQueue"), arn("DelayDeadLetters")],
                        }],
                    },
                }],
            }
        }),
    );
    let function_name = "${AWS::StackName}-eventfn-delay";
    resources.insert("DelayLogs".into(), log_group(function_name, kms_key));
    resources.insert(
        "DelayRole".into(),
        lambda_role(role_statements(
            function_name,
            "DelayQueue",
            publishing,
            kms_key,
        )),
    );
    let mut properties = function_properties(
        manifest,
        function_name,
        DELAYED_HANDLER,
        "DelayRole",
        "DelayLogs",
        addresses,
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

/// What a function may do: write its own logs, read its own queue (`queue`, a logical ID), read
/// this stack's parameters, publish, and decrypt with `kms_key` when set.
fn role_statements(
    function_name: &str,
    queue: &str,
    publishing: &Publishing,
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
            "Resource": arn(queue),
        }),
        json!({
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters"],
            "Resource": sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}/*".to_owned()),
        }),
    ];
    if !publishing.topics.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": publishing.topics,
        }));
        // Publishing to a topic encrypted with the AWS managed key: only through SNS.
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*".to_owned()),
            "Condition": { "StringEquals": { "kms:ViaService": sub("sns.${AWS::Region}.amazonaws.com".to_owned()) } },
        }));
    }
    if !publishing.buses.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": publishing.buses,
        }));
    }
    let mut queues = publishing.queues.clone();
    if publishing.delays {
        queues.push(arn("DelayQueue"));
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
    if !queues.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queues,
        }));
    }
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

/// A role Lambda assumes, allowed `statements`.
fn lambda_role(statements: Vec<Value>) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": assumed_by("lambda.amazonaws.com", None),
            "Policies": [{
                "PolicyName": "handler",
                "PolicyDocument": { "Version": "2012-10-17", "Statement": statements },
            }],
        }
    })
}

/// The properties every function of the app has; the caller adds its description, memory and
/// timeout.
fn function_properties(
    manifest: &Manifest,
    function_name: &str,
    handler: &str,
    role: &str,
    logs: &str,
    addresses: &serde_json::Map<String, Value>,
    kms_key: Option<&str>,
) -> Value {
    let mut environment = serde_json::Map::new();
    environment.insert("EVENTFN_HANDLER".into(), json!(handler));
    environment.extend(addresses.clone());
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

/// `{"name": "<address>"}` as a string CloudFormation fills in, for the environment.
fn json_of_references(map: &serde_json::Map<String, Value>) -> Value {
    if map.is_empty() {
        return json!("{}");
    }
    let mut pieces = Vec::new();
    for (name, value) in map {
        let id = value["Ref"].as_str().unwrap_or_default();
        pieces.push(format!("{}:\"${{{id}}}\"", Value::String(name.clone())));
    }
    sub(format!("{{{}}}", pieces.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let template: Value = serde_json::from_str(&render(&manifest(), kms_key)).unwrap();
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
            let template: Value = serde_json::from_str(&render(&manifest, None)).unwrap();
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

    #[test]
    fn addresses_reach_the_environment_as_json_filled_in_by_cloudformation() {
        let mut map = serde_json::Map::new();
        map.insert(
            "account-signup".into(),
            reference("EventAccountSignupTopic"),
        );
        map.insert("say \"hi\"".into(), reference("EventSayHiTopic"));
        assert_eq!(
            json_of_references(&map),
            json!({ "Fn::Sub": r#"{"account-signup":"${EventAccountSignupTopic}","say \"hi\"":"${EventSayHiTopic}"}"# })
        );
        assert_eq!(json_of_references(&serde_json::Map::new()), json!("{}"));
    }
}
