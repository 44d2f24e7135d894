//! `cargo eventfn logs --stage NAME`: what a deployed stage's handlers did, read from their
//! functions' CloudWatch log groups and shown as the sandbox's live log shows it.
//!
//! On Lambda the runtime writes one JSON line per attempt (`eventfn_core::attempt`) after the
//! handler ran, so whatever the handler printed during the attempt is on the lines before it, in
//! the same log stream (one stream is one function instance, which runs one invocation at a
//! time). Each attempt is shown as its line, with those lines beneath it, as in the sandbox.
//! Lambda's own lines (`START`, `END`, `REPORT`, `INIT_START`) are left out.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use eventfn_core::attempt::{self, Attempt};
use serde::Serialize;
use serde_json::Value;

use crate::dead::{Stage, open_stack};
use crate::deploy::runtime;
use crate::sandbox::now_ms;
use crate::shell::Shell;
use crate::{MessageFormat, stack};

/// How often `--follow` asks for what is new.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

#[derive(Args, Debug, Clone)]
pub struct LogsArgs {
    /// Only these handlers: their Rust path (`welcome::audit`) or its last part (`audit`).
    /// Every handler of the stage when none is given.
    #[arg(value_name = "HANDLER")]
    pub handlers: Vec<String>,

    /// How far back to read: a count and a unit (`30s`, `10m`, `2h`, `1d`), or an RFC 3339 time.
    #[arg(long, value_name = "WHEN", default_value = "10m")]
    pub since: String,

    /// Keep reading, every two seconds, until interrupted.
    #[arg(long)]
    pub follow: bool,

    /// Only the attempts whose line or output contains TEXT (an event name, an id, an error).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    #[command(flatten)]
    pub out: StageOutput,
}

/// A deployed stage to read, and how to print what is read (`logs`, `status`).
#[derive(Args, Debug, Clone)]
pub struct StageOutput {
    /// `json`: what is shown, as JSON on stdout (`logs`: one object per attempt, with its
    /// function and output).
    #[arg(
        long = "message-format",
        alias = "format",
        value_enum,
        default_value = "human"
    )]
    pub message_format: MessageFormat,

    #[command(flatten)]
    pub stage: Stage,
}

/// A function of the stage whose log is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Function {
    /// The handler's Rust path (`EVENTFN_HANDLER`), or `@delayed`.
    pub(crate) handler: String,
    /// The function's name.
    pub(crate) name: String,
    /// Its log group: the template's (`LoggingConfig`), else Lambda's `/aws/lambda/<name>`.
    pub(crate) group: String,
}

/// One attempt with what its handler printed during it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Shown<'a> {
    function: &'a str,
    attempt: Attempt,
    output: Vec<String>,
}

/// `--since`: milliseconds since the epoch to read from, at `now`.
fn since(text: &str, now: u64) -> Result<u64> {
    let text = text.trim();
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return u64::try_from(time.timestamp_millis())
            .map_err(|_| anyhow!("--since `{text}` is before 1970"));
    }
    // Four units, as `arc logs` and `sls logs` take them: not worth a dependency.
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (count, unit) = text.split_at(digits);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => 0,
    };
    let count: u64 = count.parse().unwrap_or(0);
    if seconds == 0 || count == 0 {
        bail!(
            "--since `{}` is not a count and unit like `30s`, `10m`, `2h` or `1d`, nor an RFC 3339 \
             time like `2026-11-29T14:00:00Z`",
            eventfn_core::quote::excerpt(text)
        );
    }
    Ok(now.saturating_sub(count.saturating_mul(seconds * 1000)))
}

/// The stage's functions, from its template as deployed: each `AWS::Lambda::Function` with its
/// `EVENTFN_HANDLER`, its name and its log group.
pub(crate) fn functions(
    template: &Value,
    physical: &std::collections::HashMap<String, String>,
) -> Vec<Function> {
    let empty = serde_json::Map::new();
    let mut all: Vec<Function> = template["Resources"]
        .as_object()
        .unwrap_or(&empty)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .filter_map(|(id, r)| {
            let properties = &r["Properties"];
            let handler = properties["Environment"]["Variables"]["EVENTFN_HANDLER"].as_str()?;
            let name = physical.get(id)?.clone();
            let group = properties["LoggingConfig"]["LogGroup"]["Ref"]
                .as_str()
                .and_then(|group| physical.get(group))
                .cloned()
                .unwrap_or_else(|| format!("/aws/lambda/{name}"));
            Some(Function {
                handler: handler.to_owned(),
                name,
                group,
            })
        })
        .collect();
    all.sort_by(|a, b| a.handler.cmp(&b.handler));
    all
}

/// The functions `wanted` names (all when none); an error names what is not a handler.
pub(crate) fn select(all: Vec<Function>, wanted: &[String]) -> Result<Vec<Function>> {
    if wanted.is_empty() {
        return Ok(all);
    }
    let names = |f: &Function| {
        let last = f
            .handler
            .rsplit("::")
            .next()
            .unwrap_or(&f.handler)
            .to_owned();
        (f.handler.clone(), last)
    };
    for want in wanted {
        if !all.iter().any(|f| {
            let (path, last) = names(f);
            *want == path || *want == last
        }) {
            let known: Vec<String> = all.iter().map(|f| format!("`{}`", f.handler)).collect();
            bail!(
                "`{}` is not a handler of this stage; its handlers are: {}",
                eventfn_core::quote::excerpt(want),
                known.join(", ")
            );
        }
    }
    Ok(all
        .into_iter()
        .filter(|f| {
            let (path, last) = names(f);
            wanted.iter().any(|w| *w == path || *w == last)
        })
        .collect())
}

/// Whether a line is Lambda's own, not the function's.
pub(crate) fn lambdas_own(line: &str) -> bool {
    [
        "START RequestId:",
        "END RequestId:",
        "REPORT RequestId:",
        "INIT_START",
        "INIT_REPORT",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// A log event as read: when, its stream, its id and text.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    time: i64,
    stream: String,
    id: String,
    pub(crate) message: String,
}

/// Gathers the lines of each stream into attempts: the lines before an attempt's own line are
/// its output. Lines after a stream's last attempt stay in `pending` for the next read.
fn attempts<'a>(
    function: &'a Function,
    events: Vec<Event>,
    pending: &mut BTreeMap<String, Vec<String>>,
) -> Vec<(i64, Shown<'a>)> {
    let mut shown = Vec::new();
    for event in events {
        for line in event.message.lines() {
            if lambdas_own(line) {
                continue;
            }
            let output = pending.entry(event.stream.clone()).or_default();
            match Attempt::parse(line) {
                Some(attempt) => shown.push((
                    event.time,
                    Shown {
                        function: &function.name,
                        attempt,
                        output: std::mem::take(output),
                    },
                )),
                None => output.push(line.to_owned()),
            }
        }
    }
    shown
}

/// Reads `function`'s log events from `start` (ms since the epoch), every page; with `pattern`,
/// only those CloudWatch's filter pattern matches.
pub(crate) async fn read(
    session: &crate::aws::Session,
    logs: &aws_sdk_cloudwatchlogs::Client,
    function: &Function,
    start: u64,
    pattern: Option<&str>,
) -> Result<Vec<Event>> {
    let group = &function.group;
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start as i64)
            .set_filter_pattern(pattern.map(str::to_owned))
            .set_next_token(token)
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            // A function that never ran has no log group yet.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(events);
            }
            Err(e) => {
                return Err(session.explain(&format!("could not read the log group `{group}`"), e));
            }
        };
        events.extend(page.events().iter().map(|e| Event {
            time: e.timestamp().unwrap_or_default(),
            stream: e.log_stream_name().unwrap_or_default().to_owned(),
            id: e.event_id().unwrap_or_default().to_owned(),
            message: e.message().unwrap_or_default().to_owned(),
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(events);
        }
    }
}

/// `HH:MM:SS.mmm` in the machine's time zone, as the sandbox's log shows times.
pub(crate) fn clock(ms: u64) -> String {
    use chrono::TimeZone as _;
    chrono::Local
        .timestamp_millis_opt(ms as i64)
        .single()
        .map_or_else(
            || format!("{ms}ms"),
            |t| t.format("%H:%M:%S%.3f").to_string(),
        )
}

/// One attempt, as `format` says, with `--filter` applied: whether it was shown.
fn print(shown: &Shown<'_>, filter: Option<&str>, format: MessageFormat, color: bool) -> bool {
    if let Some(text) = filter {
        let line = shown.attempt.to_line();
        if !line.contains(text) && !shown.output.iter().any(|l| l.contains(text)) {
            return false;
        }
    }
    match format {
        MessageFormat::Json => {
            println!("{}", serde_json::to_string(shown).unwrap_or_default());
        }
        MessageFormat::Human => {
            let ids = format!("event {}", shown.attempt.id);
            let clock = clock(shown.attempt.time);
            let mut text =
                attempt::render(&shown.attempt.view(&clock, &ids), attempt::Paint { color });
            for line in &shown.output {
                text.push_str("    ");
                text.push_str(line);
                text.push('\n');
            }
            print!("{text}");
        }
    }
    true
}

/// Lines of `stream` with no attempt line after them, as `format` says.
fn trailing(
    function: &Function,
    stream: &str,
    output: &[String],
    filter: Option<&str>,
    format: MessageFormat,
) {
    if filter.is_some_and(|text| !output.iter().any(|line| line.contains(text))) {
        return;
    }
    match format {
        MessageFormat::Json => println!(
            "{}",
            serde_json::json!({"function": function.name, "stream": stream, "output": output})
        ),
        MessageFormat::Human => {
            println!(
                "{} ({stream}), with no attempt line after them yet (an invocation running, or \
                 stopped before it ended):",
                function.handler
            );
            for line in output {
                println!("    {line}");
            }
        }
    }
}

/// `cargo eventfn logs --stage NAME`.
pub fn logs(shell: &Shell, args: &LogsArgs) -> Result<()> {
    let Some(name) = &args.out.stage.stage else {
        bail!(
            "`logs` reads a deployed stage's logs: add --stage NAME (the sandbox's log is what \
             `cargo eventfn dev` prints)"
        );
    };
    let start = since(&args.since, now_ms())?;
    let color = args.out.message_format == MessageFormat::Human
        && anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    runtime()?.block_on(async {
        let (session, stack_name) = open_stack(&args.out.stage, name).await?;
        let cf = session.cloudformation();
        let deployed = stack::deployed_app(&session, &cf, &stack_name).await?;
        let functions = select(
            functions(&deployed.template, &deployed.physical),
            &args.handlers,
        )?;
        shell.status(
            "Reading",
            format!(
                "the logs of {} function{} of stage `{name}` (stack `{stack_name}`, account {}, \
                 {}) since {}",
                functions.len(),
                if functions.len() == 1 { "" } else { "s" },
                session.account,
                session.endpoint_name(),
                clock(start)
            ),
        );
        let logs = aws_sdk_cloudwatchlogs::Client::new(&session.config);
        let mut pending: Vec<BTreeMap<String, Vec<String>>> =
            vec![BTreeMap::new(); functions.len()];
        // The ids read, with their times: a read from `from` on returns those at `from` again.
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut from = start;
        let mut count = 0;
        loop {
            let mut all = Vec::new();
            let mut newest = from;
            for (function, pending) in functions.iter().zip(pending.iter_mut()) {
                // One log that cannot be read does not hide the others.
                let mut events = match read(&session, &logs, function, from, None).await {
                    Ok(events) => events,
                    Err(error) => {
                        shell.warn(format!("{error:#}"));
                        continue;
                    }
                };
                events.retain(|e| seen.insert(e.id.clone(), e.time).is_none());
                events.sort_by_key(|e| e.time);
                if let Some(last) = events.last() {
                    newest = newest.max(last.time.max(0) as u64);
                }
                all.extend(attempts(function, events, pending));
            }
            // The next read starts at the newest line read (the same millisecond may have more):
            // what was read already is known by its id.
            from = newest;
            seen.retain(|_, time| *time >= from as i64);
            all.sort_by_key(|(time, _)| *time);
            for (_, shown) in &all {
                if print(
                    shown,
                    args.filter.as_deref(),
                    args.out.message_format,
                    color,
                ) {
                    count += 1;
                }
            }
            if !args.follow {
                // Lines after a stream's last attempt line: an invocation still running, or one
                // stopped before it ended (out of memory, Lambda's own timeout).
                for (function, pending) in functions.iter().zip(&pending) {
                    for (stream, output) in pending.iter().filter(|(_, o)| !o.is_empty()) {
                        let filter = args.filter.as_deref();
                        trailing(function, stream, output, filter, args.out.message_format);
                    }
                }
                break;
            }
            tokio::time::sleep(FOLLOW_EVERY).await;
        }
        shell.status(
            "Finished",
            format!("{count} attempt{}", if count == 1 { "" } else { "s" }),
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_count_and_unit_or_a_time() {
        let now = 1_764_000_000_000;
        assert_eq!(since("10m", now).unwrap(), now - 600_000);
        assert_eq!(since("2h", now).unwrap(), now - 7_200_000);
        assert_eq!(since("1d", now).unwrap(), now - 86_400_000);
        assert_eq!(since("30s", now).unwrap(), now - 30_000);
        assert_eq!(
            since("2025-11-24T16:00:00Z", now).unwrap(),
            1_764_000_000_000
        );
        for bad in ["", "10", "m", "0m", "10 minutes", "10y", "-1h"] {
            let error = since(bad, now).unwrap_err().to_string();
            assert!(error.contains("is not a count and unit"), "{bad}: {error}");
        }
    }

    fn function(handler: &str) -> Function {
        let name = format!("WelcomeQa-{}", handler.rsplit("::").next().unwrap());
        Function {
            handler: handler.to_owned(),
            group: format!("/aws/lambda/{name}"),
            name,
        }
    }

    #[test]
    fn handlers_are_chosen_by_path_or_last_part_and_a_wrong_one_is_named() {
        let all = vec![
            function("welcome::audit"),
            function("welcome::send_welcome"),
        ];
        assert_eq!(select(all.clone(), &[]).unwrap(), all);
        assert_eq!(
            select(all.clone(), &["audit".to_owned()]).unwrap(),
            [function("welcome::audit")]
        );
        assert_eq!(
            select(all.clone(), &["welcome::send_welcome".to_owned()]).unwrap(),
            [function("welcome::send_welcome")]
        );
        let error = select(all, &["nope".to_owned()]).unwrap_err().to_string();
        assert_eq!(
            error,
            "`nope` is not a handler of this stage; its handlers are: `welcome::audit`, \
             `welcome::send_welcome`"
        );
    }

    #[test]
    fn an_attempts_output_is_the_lines_before_it_in_its_stream() {
        let f = function("welcome::audit");
        let line = |attempt: u32, id: &str| {
            Attempt {
                eventfn: attempt::ATTEMPT.to_owned(),
                time: 1_764_000_000_000,
                kind: eventfn_core::Kind::Event,
                name: "account-signup".to_owned(),
                handler: "welcome::audit".to_owned(),
                id: id.to_owned(),
                attempt,
                duration_us: 10,
                outcome: attempt::Outcome::Ok,
                error: None,
            }
            .to_line()
        };
        let event = |time: i64, stream: &str, message: &str| Event {
            time,
            stream: stream.to_owned(),
            id: format!("{time}"),
            message: message.to_owned(),
        };
        let mut pending = BTreeMap::new();
        let shown = attempts(
            &f,
            vec![
                event(1, "a", "START RequestId: r1 Version: $LATEST"),
                event(2, "a", "audit: user u1 signed up"),
                event(3, "b", "audit: user u2 signed up"),
                event(4, "a", &line(1, "m-1")),
                event(5, "a", "END RequestId: r1"),
                event(6, "b", &line(2, "m-2")),
                event(7, "a", "audit: user u3 signed up"),
            ],
            &mut pending,
        );
        let got: Vec<(&str, &[String])> = shown
            .iter()
            .map(|(_, s)| (s.attempt.id.as_str(), s.output.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                ("m-1", &["audit: user u1 signed up".to_owned()][..]),
                ("m-2", &["audit: user u2 signed up".to_owned()][..]),
            ]
        );
        // What comes after the last attempt of a stream waits for the next one.
        assert_eq!(pending["a"], ["audit: user u3 signed up"]);
    }
}
