//! `cargo eventfn status --stage NAME`: what is deployed and how it is doing. The stack's state
//! and last update; each handler with its function, its trigger, its last attempt, its attempts
//! and failed attempts over the last hour, and its dead letters now.
//!
//! Attempts are counted from the JSON line the runtime writes per attempt
//! (`eventfn_core::attempt`) in the functions' log groups, the lines `cargo eventfn logs` shows;
//! dead letters are SQS's approximate counts of each handler's dead-letter queue.

use std::collections::HashMap;

use anyhow::Result;
use clap::Args;
use eventfn_core::attempt::{Attempt, Outcome};
use serde::Serialize;
use serde_json::Value;

use crate::deploy::runtime;
use crate::logs::{Function, StageOutput, functions, read};
use crate::sandbox::now_ms;
use crate::shell::Shell;
use crate::{MessageFormat, stack};

/// How far back attempts are counted.
const HOUR_MS: u64 = 3_600_000;

/// CloudWatch's filter for the attempt lines: only they are read, not the handlers' output.
const ATTEMPT_LINES: &str = r#"{ $.eventfn = "attempt" }"#;

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub out: StageOutput,
}

/// One handler's line.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct HandlerStatus {
    handler: String,
    function: String,
    /// `event `account-signup``, `queue `thumbnails``, ... from the function's description.
    trigger: String,
    /// When its last attempt of the hour started, in milliseconds since the epoch.
    last_attempt: Option<u64>,
    attempts: u64,
    failed: u64,
    dead_letters: u64,
}

/// What `status --message-format json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    stage: String,
    stack: String,
    account: String,
    region: String,
    status: String,
    /// When the stack was last created or updated, RFC 3339.
    updated: Option<String>,
    handlers: Vec<HandlerStatus>,
}

/// The trigger a function's description names: "queue `jobs`: app::jobs" → "queue `jobs`".
fn trigger(template: &Value, function: &Function) -> String {
    if function.handler == eventfn_core::delay::DELAYED_HANDLER {
        return "delayed messages".to_owned();
    }
    let empty = serde_json::Map::new();
    template["Resources"]
        .as_object()
        .unwrap_or(&empty)
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Function")
        .find(|r| {
            r["Properties"]["Environment"]["Variables"]["EVENTFN_HANDLER"] == function.handler
        })
        .and_then(|r| r["Properties"]["Description"].as_str())
        .and_then(|d| d.split_once(':').map(|(trigger, _)| trigger.to_owned()))
        .unwrap_or_else(|| "?".to_owned())
}

/// Counts the attempt lines among `messages`: the last one's start, all, and those that failed.
fn count<'a>(messages: impl Iterator<Item = &'a str>) -> (Option<u64>, u64, u64) {
    let mut found = (None, 0, 0);
    for attempt in messages.flat_map(str::lines).filter_map(Attempt::parse) {
        found.0 = found.0.max(Some(attempt.time));
        found.1 += 1;
        if attempt.outcome != Outcome::Ok {
            found.2 += 1;
        }
    }
    found
}

/// "2026-11-29 14:02:11 (3m ago)", in local time.
fn when(ms: u64, now: u64) -> String {
    use chrono::TimeZone as _;
    let clock = chrono::Local
        .timestamp_millis_opt(ms as i64)
        .single()
        .map_or_else(
            || format!("{ms}ms"),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
    format!("{clock} ({})", crate::sandbox::age(ms, now))
}

/// `cargo eventfn status --stage NAME`.
pub fn status(shell: &Shell, args: &StatusArgs) -> Result<()> {
    let Some(name) = &args.out.stage.stage else {
        anyhow::bail!(
            "`status` describes a deployed stage: add --stage NAME (the sandbox's state is \
             `cargo eventfn events`)"
        );
    };
    let now = now_ms();
    let status = runtime()?.block_on(async {
        let opened = crate::dead::open(&args.out.stage, name).await?;
        let session = &opened.session;
        let cf = session.cloudformation();
        let described = stack::describe(session, &cf, &opened.stack).await?;
        let deployed = stack::deployed_app(session, &cf, &opened.stack).await?;
        let sqs = aws_sdk_sqs::Client::new(&session.config);
        let mut dead: HashMap<&str, u64> = HashMap::new();
        for (queue, count) in crate::dead::counts(&opened, &sqs).await? {
            *dead.entry(queue.handler.as_str()).or_default() += count;
        }
        let logs = aws_sdk_cloudwatchlogs::Client::new(&session.config);
        let mut handlers = Vec::new();
        for function in functions(&deployed.template, &deployed.physical) {
            let (last_attempt, attempts, failed) = match read(
                session,
                &logs,
                &function,
                now.saturating_sub(HOUR_MS),
                Some(ATTEMPT_LINES),
            )
            .await
            {
                Ok(events) => count(events.iter().map(|e| e.message.as_str())),
                Err(error) => {
                    shell.warn(format!("{error:#}"));
                    (None, 0, 0)
                }
            };
            handlers.push(HandlerStatus {
                trigger: trigger(&deployed.template, &function),
                dead_letters: dead.get(function.handler.as_str()).copied().unwrap_or(0),
                handler: function.handler,
                function: function.name,
                last_attempt,
                attempts,
                failed,
            });
        }
        let updated = described.as_ref().and_then(|s| {
            s.last_updated_time().or(s.creation_time()).and_then(|t| {
                t.fmt(aws_sdk_cloudformation::primitives::DateTimeFormat::DateTime)
                    .ok()
            })
        });
        Ok::<_, anyhow::Error>(Status {
            stage: name.clone(),
            stack: opened.stack.clone(),
            account: session.account.clone(),
            region: session.region.clone(),
            status: described
                .as_ref()
                .map_or("UNKNOWN", stack::status)
                .to_owned(),
            updated,
            handlers,
        })
    })?;
    if args.out.message_format == MessageFormat::Json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!(
        "stage `{}`: stack `{}`, account {}, {}: {}{}",
        status.stage,
        status.stack,
        status.account,
        status.region,
        status.status,
        status
            .updated
            .as_deref()
            .map(|u| format!(", last updated {u}"))
            .unwrap_or_default()
    );
    let rows: Vec<[String; 7]> = status
        .handlers
        .iter()
        .map(|h| {
            [
                h.handler.clone(),
                h.trigger.clone(),
                h.function.clone(),
                h.last_attempt
                    .map_or_else(|| "-".to_owned(), |t| when(t, now)),
                h.attempts.to_string(),
                h.failed.to_string(),
                h.dead_letters.to_string(),
            ]
        })
        .collect();
    let header = [
        "handler",
        "trigger",
        "function",
        "last attempt (1h)",
        "attempts (1h)",
        "failed (1h)",
        "dead letters",
    ];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventfn_core::attempt::ATTEMPT;

    #[test]
    fn attempts_are_counted_from_their_lines_only() {
        let line = |time: u64, outcome: Outcome| {
            Attempt {
                eventfn: ATTEMPT.to_owned(),
                time,
                kind: eventfn_core::Kind::Queue,
                name: "jobs".to_owned(),
                handler: "app::jobs".to_owned(),
                id: "m".to_owned(),
                attempt: 1,
                duration_us: 1,
                outcome,
                error: None,
            }
            .to_line()
        };
        let messages = [
            "START RequestId: r".to_owned(),
            line(5, Outcome::Ok),
            "job 1".to_owned(),
            line(9, Outcome::Retry),
            line(7, Outcome::Dead),
        ];
        assert_eq!(count(messages.iter().map(String::as_str)), (Some(9), 3, 2));
        assert_eq!(count(["nothing"].into_iter()), (None, 0, 0));
    }

    #[test]
    fn a_functions_trigger_is_read_from_its_description() {
        let template = serde_json::json!({"Resources": {
            "HandlerJobsFunction": {"Type": "AWS::Lambda::Function", "Properties": {
                "Description": "queue `jobs`: app::jobs",
                "Environment": {"Variables": {"EVENTFN_HANDLER": "app::jobs"}}}},
        }});
        let function = |handler: &str| Function {
            handler: handler.to_owned(),
            name: "F".to_owned(),
            group: "/aws/lambda/F".to_owned(),
        };
        assert_eq!(trigger(&template, &function("app::jobs")), "queue `jobs`");
        assert_eq!(trigger(&template, &function("app::gone")), "?");
        assert_eq!(
            trigger(&template, &function("@delayed")),
            "delayed messages"
        );
    }
}
