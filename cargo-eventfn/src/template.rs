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
//! - Queues are encrypted with SQS-managed keys, which SNS and EventBridge can deliver to.
//! - Each function's role may write its own logs, read its own queue, publish to this app's topics,
//!   send to this app's queues and read this stack's parameters: nothing else.
//! - A function sends what fails on its last attempt to its dead-letter queue itself, with why
//!   (see [`eventfn_core::dead`]); its role may send there.
//! - When the app has an event or a queue, delayed messages wait in a delay queue read by a
//!   function of their own, or in one-time schedules of the stack's schedule group, run with a
//!   role that may only send to the delay queue (see [`eventfn_core::delay`]). Every function may
//!   send to the delay queue, create schedules in that group and pass that role to the scheduler.
//!
//! Logical IDs come from [`eventfn_core::logical`]. Keys are sorted (`serde_json`'s map), so the
//! same manifest gives the same bytes.

use eventfn_core::dead::{ATTEMPTS_ENV, DEAD_LETTERS_ENV};
use eventfn_core::delay::{DELAY_ENV, DELAY_PARAMETER, DELAYED_HANDLER};
use eventfn_core::logical::{function_id, resource_id};
use eventfn_core::options::MAX_RETENTION_SECS;
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
        Kind::Event | Kind::Schedule => format!("Handler{}Queue", function_id(&handler.function)),
    }
}

/// The template of `manifest`, as pretty JSON.
pub fn render(manifest: &Manifest) -> String {
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

    // What every function may publish to, and where it finds it.
    let delays = !topics.is_empty() || !queues.is_empty();
    let publishing = Publishing {
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
    if delays {
        addresses.insert(DELAY_ENV.into(), delay_route());
        delay_resources(
            manifest,
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
        resources.insert(
            dead.clone(),
            json!({ "Type": "AWS::SQS::Queue", "Properties": dead_properties }),
        );
        resources.insert(
            queue.clone(),
            json!({ "Type": "AWS::SQS::Queue", "Properties": queue_properties }),
        );
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
                json!({
                    "Type": "AWS::SQS::QueuePolicy",
                    "Properties": {
                        "Queues": [reference(&queue)],
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{
                                "Effect": "Allow",
                                "Principal": { "Service": service },
                                "Action": "sqs:SendMessage",
                                "Resource": arn(&queue),
                                "Condition": { "ArnEquals": { "aws:SourceArn": source } },
                            }],
                        },
                    }
                }),
            );
        }

        resources.insert(logs.clone(), log_group(&function_name));

        let mut statements = role_statements(&function_name, &queue, &publishing);
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
        if let Some(concurrency) = handler.options.concurrency {
            properties["ReservedConcurrentExecutions"] = json!(concurrency);
        }
        resources.insert(
            function.clone(),
            json!({ "Type": "AWS::Lambda::Function", "Properties": properties }),
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

/// What functions may publish to: this app's topics and queues, and its delay queue and
/// schedules when it has any of those.
struct Publishing {
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
    resources: &mut serde_json::Map<String, Value>,
    outputs: &mut serde_json::Map<String, Value>,
    publishing: &Publishing,
    addresses: &serde_json::Map<String, Value>,
) {
    resources.insert(
        "DelayDeadLetters".into(),
        json!({
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION,
                "SqsManagedSseEnabled": true,
            }
        }),
    );
    resources.insert(
        "DelayQueue".into(),
        json!({
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "MessageRetentionPeriod": MAX_RETENTION_SECS,
                "SqsManagedSseEnabled": true,
                "VisibilityTimeout": 6 * DELAY_FUNCTION_TIMEOUT,
                "RedrivePolicy": {
                    "deadLetterTargetArn": arn("DelayDeadLetters"),
                    "maxReceiveCount": DELAY_RECEIVES,
                },
            }
        }),
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
    resources.insert("DelayLogs".into(), log_group(function_name));
    resources.insert(
        "DelayRole".into(),
        lambda_role(role_statements(function_name, "DelayQueue", publishing)),
    );
    let mut properties = function_properties(
        manifest,
        function_name,
        DELAYED_HANDLER,
        "DelayRole",
        "DelayLogs",
        addresses,
    );
    properties["Description"] =
        json!("eventfn: sends delayed events and jobs on to their topic or queue when due");
    properties["MemorySize"] = json!(128);
    properties["Timeout"] = json!(DELAY_FUNCTION_TIMEOUT);
    resources.insert(
        "DelayFunction".into(),
        json!({ "Type": "AWS::Lambda::Function", "Properties": properties }),
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

/// A function's log group, kept [`LOG_RETENTION_DAYS`] and deleted with the stack.
fn log_group(function_name: &str) -> Value {
    json!({
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": sub(format!("/aws/lambda/{function_name}")),
            "RetentionInDays": LOG_RETENTION_DAYS,
        }
    })
}

/// What a function may do: write its own logs, read its own queue (`queue`, a logical ID), read
/// this stack's parameters, and publish.
fn role_statements(function_name: &str, queue: &str, publishing: &Publishing) -> Vec<Value> {
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
) -> Value {
    let mut environment = serde_json::Map::new();
    environment.insert("EVENTFN_HANDLER".into(), json!(handler));
    environment.extend(addresses.clone());
    json!({
        "FunctionName": sub(function_name.to_owned()),
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Architectures": [manifest.architecture.as_str()],
        "Role": arn(role),
        "Code": { "S3Bucket": reference("CodeBucket"), "S3Key": reference("CodeKey") },
        "Environment": { "Variables": environment },
        "LoggingConfig": { "LogGroup": reference(logs) },
    })
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
