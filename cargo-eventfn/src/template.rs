//! `template.json`: the app as plain CloudFormation (no SAM transform), from its manifest.
//!
//! Every handler is a Lambda function with its own log group, role and delivery path: an SQS
//! queue of its own that redrives to its own dead-letter queue after `retries + 1` receives, read
//! by an event source mapping that reports partial batch failures. That path (rather than SNS or
//! EventBridge invoking Lambda asynchronously) is what makes `retries` mean what it says: Lambda's
//! asynchronous retries stop at 2 and keep an event at most 6 hours, while a queue counts every
//! receive, spaces retries by its visibility timeout (6 × the function's timeout) and keeps a
//! message up to 4 days.
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
//!
//! Logical IDs come from [`eventfn_core::logical`]. Keys are sorted (`serde_json`'s map), so the
//! same manifest gives the same bytes.

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
                resources.insert(
                    format!("{id}Subscription"),
                    json!({
                        "Type": "AWS::SNS::Subscription",
                        "Properties": {
                            "Protocol": "sqs",
                            "TopicArn": reference(&topic),
                            "Endpoint": arn(&queue),
                            "RawMessageDelivery": true,
                        }
                    }),
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

        resources.insert(
            logs.clone(),
            json!({
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {
                    "LogGroupName": sub(format!("/aws/lambda/{function_name}")),
                    "RetentionInDays": LOG_RETENTION_DAYS,
                }
            }),
        );

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
                "Resource": arn(&queue),
            }),
            json!({
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                "Resource": sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${AWS::StackName}/*".to_owned()),
            }),
        ];
        if !topics.is_empty() {
            statements.push(json!({
                "Effect": "Allow",
                "Action": "sns:Publish",
                "Resource": topics.values().cloned().collect::<Vec<_>>(),
            }));
            // Publishing to a topic encrypted with the AWS managed key: only through SNS.
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*".to_owned()),
                "Condition": { "StringEquals": { "kms:ViaService": sub("sns.${AWS::Region}.amazonaws.com".to_owned()) } },
            }));
        }
        if !queues.is_empty() {
            let arns: Vec<Value> = manifest
                .of_kind(Kind::Queue)
                .map(|h| arn(&source_queue(h)))
                .collect();
            statements.push(json!({
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": arns,
            }));
        }
        let role = format!("{id}Role");
        resources.insert(
            role.clone(),
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": { "Service": "lambda.amazonaws.com" },
                            "Action": "sts:AssumeRole",
                        }],
                    },
                    "Policies": [{
                        "PolicyName": "handler",
                        "PolicyDocument": { "Version": "2012-10-17", "Statement": statements },
                    }],
                }
            }),
        );

        let mut environment = serde_json::Map::new();
        environment.insert("EVENTFN_HANDLER".into(), json!(handler.function));
        environment.insert("EVENTFN_STACK".into(), reference("AWS::StackName"));
        environment.insert("EVENTFN_TOPICS".into(), json_of_references(&topics));
        environment.insert("EVENTFN_QUEUES".into(), json_of_references(&queues));
        let mut properties = json!({
            "FunctionName": sub(function_name.clone()),
            "Description": format!("{} `{}`: {}", handler.kind.as_str(), handler.name, handler.function),
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Architectures": [manifest.architecture.as_str()],
            "MemorySize": handler.options.memory,
            "Timeout": timeout,
            "Role": arn(&role),
            "Code": { "S3Bucket": reference("CodeBucket"), "S3Key": reference("CodeKey") },
            "Environment": { "Variables": environment },
            "LoggingConfig": { "LogGroup": reference(&logs) },
        });
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
