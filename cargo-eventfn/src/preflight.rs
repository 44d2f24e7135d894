//! Checks, before a change set runs, that the names it is about to create are free.
//!
//! The template fixes a few names (SSM parameters `/<stack>/events/<name>`, log groups
//! `/aws/lambda/<function>`, FIFO queues), so that publishers can find them. When one of them is
//! already taken outside the stack — typically a log group that Lambda created on its own, or a
//! parameter left by an earlier stack of the same name — CloudFormation fails half-way through
//! and rolls everything back, minutes later. Asking first costs one request per name and names
//! the resource at once.

use anyhow::Result;
use aws_sdk_cloudformation::error::ProvideErrorMetadata as _;
use serde_json::Value;

use crate::aws::Session;

/// A resource the change set adds, whose name is already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub logical_id: String,
    pub resource_type: String,
    pub name: String,
}

impl std::fmt::Display for Taken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): `{}` already exists outside the stack",
            self.logical_id, self.resource_type, self.name
        )
    }
}

/// The names the template gives the resources `added`, with the stack's name filled in: (logical
/// ID, type, name).
pub fn fixed_names(template: &Value, stack: &str, added: &[&str]) -> Vec<(String, String, String)> {
    let mut names = Vec::new();
    for id in added {
        let resource = &template["Resources"][*id];
        let kind = resource["Type"].as_str().unwrap_or_default();
        let property = match kind {
            "AWS::SSM::Parameter" => "Name",
            "AWS::Logs::LogGroup" => "LogGroupName",
            "AWS::SQS::Queue" => "QueueName",
            _ => continue,
        };
        let value = &resource["Properties"][property];
        let name = match (value.as_str(), value["Fn::Sub"].as_str()) {
            (Some(name), _) => name.to_owned(),
            (None, Some(pattern)) => pattern.replace("${AWS::StackName}", stack),
            (None, None) => continue,
        };
        names.push(((*id).to_owned(), kind.to_owned(), name));
    }
    names
}

/// The resources among `added` whose names exist already.
pub async fn taken(
    session: &Session,
    template: &Value,
    stack: &str,
    added: &[&str],
) -> Result<Vec<Taken>> {
    let names = fixed_names(template, stack, added);
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let ssm = aws_sdk_ssm::Client::new(&session.config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&session.config);
    let sqs = aws_sdk_sqs::Client::new(&session.config);
    let mut found = Vec::new();
    for (logical_id, resource_type, name) in names {
        let exists = match resource_type.as_str() {
            "AWS::SSM::Parameter" => match ssm.get_parameter().name(&name).send().await {
                Ok(_) => true,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_parameter_not_found()) =>
                {
                    false
                }
                Err(e) => {
                    return Err(
                        session.explain(&format!("could not look up parameter `{name}`"), e)
                    );
                }
            },
            "AWS::Logs::LogGroup" => {
                let output = logs
                    .describe_log_groups()
                    .log_group_name_prefix(&name)
                    .send()
                    .await
                    .map_err(|e| {
                        session.explain(&format!("could not look up log group `{name}`"), e)
                    })?;
                output
                    .log_groups()
                    .iter()
                    .any(|g| g.log_group_name() == Some(name.as_str()))
            }
            _ => match sqs.get_queue_url().queue_name(&name).send().await {
                Ok(_) => true,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_queue_does_not_exist())
                        || e.code().is_some_and(|c| c.contains("NonExistentQueue")) =>
                {
                    false
                }
                Err(e) => {
                    return Err(session.explain(&format!("could not look up queue `{name}`"), e));
                }
            },
        };
        if exists {
            found.push(Taken {
                logical_id,
                resource_type,
                name,
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixed_names_are_read_from_the_template_with_the_stack_filled_in() {
        let template = json!({ "Resources": {
            "EventAccountSignupParameter": { "Type": "AWS::SSM::Parameter", "Properties": {
                "Name": { "Fn::Sub": "/${AWS::StackName}/events/account-signup" } } },
            "HandlerSendWelcomeLogs": { "Type": "AWS::Logs::LogGroup", "Properties": {
                "LogGroupName": { "Fn::Sub": "/aws/lambda/${AWS::StackName}-SendWelcome" } } },
            "QueueJobs": { "Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": { "Fn::Sub": "${AWS::StackName}-QueueJobs.fifo" } } },
            "HandlerSendWelcomeQueue": { "Type": "AWS::SQS::Queue", "Properties": {} },
            "EventAccountSignupTopic": { "Type": "AWS::SNS::Topic", "Properties": {} },
        }});
        let all = [
            "EventAccountSignupParameter",
            "HandlerSendWelcomeLogs",
            "QueueJobs",
            "HandlerSendWelcomeQueue",
            "EventAccountSignupTopic",
        ];
        let names: Vec<String> = fixed_names(&template, "WelcomeStaging", &all)
            .into_iter()
            .map(|(_, _, name)| name)
            .collect();
        assert_eq!(
            names,
            [
                "/WelcomeStaging/events/account-signup",
                "/aws/lambda/WelcomeStaging-SendWelcome",
                "WelcomeStaging-QueueJobs.fifo"
            ]
        );
        assert!(fixed_names(&template, "WelcomeStaging", &["QueueJobs"]).len() == 1);
        assert!(fixed_names(&template, "WelcomeStaging", &[]).is_empty());
    }
}
