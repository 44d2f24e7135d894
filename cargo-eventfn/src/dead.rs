//! Dead letters of a deployed stage: `events --stage NAME --dead`, `replay --stage NAME` and
//! `purge --stage NAME --dead`.
//!
//! The stage's dead-letter queues, the queue each one is the dead letters of, and the handler that
//! reads that queue are read from the stack as deployed (its template and resources), not from the
//! local code, which may have moved on. A dead letter is listed with what its function recorded
//! when it sent it there on its last attempt (`eventfn_core::dead`); one that the queue's redrive
//! moved (the function was stopped at its timeout, say) has no error, and the attempts of its
//! redrive policy.
//!
//! SQS has no way to look at a message without receiving it: listing receives every message of
//! each dead-letter queue, hidden for a minute so that none is seen twice, and makes each
//! visible again at the end. Replay sends each chosen message to its handler's queue with its
//! body and its `eventfn.name`, `eventfn.time` and `eventfn.delay` attributes, then deletes it;
//! its attempts start again from one. Purge counts the messages of each queue (SQS's
//! approximate counts) and drops them with `PurgeQueue`, which reaches every message group of a
//! FIFO queue; listing warns when it could read fewer than a queue holds.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context as _, Result, bail};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName,
};
use clap::Args;
use eventfn_core::dead::{ATTEMPTS_ATTRIBUTE, ERROR_ATTRIBUTE, HANDLER_ATTRIBUTE};
use eventfn_core::delay::{DELAYED_HANDLER, Delayed};
use serde::Serialize;
use serde_json::Value;

use crate::aws::{Session, Target};
use crate::deploy::runtime;
use crate::sandbox::now_ms;
use crate::shell::Shell;
use crate::{MessageFormat, stack};

/// How long a listed message stays hidden while the others are received; reading a queue stops
/// before then (see [`receive_all`]), so that no receipt goes stale.
const HIDE_SECONDS: i32 = 60;

/// Which deployed stage: `--stage`, the app's package, and where AWS is.
#[derive(Args, Debug, Clone)]
pub struct Stage {
    /// The deployed stage to work on, instead of the local sandbox.
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,

    #[command(flatten)]
    pub app: crate::PackageSelection,

    #[command(flatten)]
    pub target: Target,
}

impl Stage {
    /// Refuses the options that only a deployed stage reads when there is no `--stage`: the
    /// sandbox would otherwise run the command without them, as if they had not been given.
    pub fn without_stage(&self) -> Result<()> {
        let given: Vec<&str> = [
            ("-p/--package", self.app.package.is_some()),
            ("--manifest-path", self.app.manifest_path.is_some()),
            ("--region", self.target.region.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect();
        if given.is_empty() {
            return Ok(());
        }
        bail!(
            "{} {} only to a deployed stage: add --stage NAME, or leave {} out to work on the \
             running sandbox",
            given.join(", "),
            if given.len() == 1 { "applies" } else { "apply" },
            if given.len() == 1 { "it" } else { "them" },
        )
    }
}

#[derive(Args, Debug, Clone)]
pub struct PurgeArgs {
    /// Drop the dead letters (the only thing purge drops).
    #[arg(long, required = true)]
    pub dead: bool,

    /// Confirm: the dead letters are deleted for good.
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub sandbox: crate::sandbox::Sandbox,

    #[command(flatten)]
    pub stage: Stage,
}

/// A dead-letter queue of the stack, and what it is the dead letters of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeadQueue {
    /// Its logical ID, like `HandlerAuditDeadLetters`.
    id: String,
    url: String,
    /// The URL of the queue it is the dead letters of: where a replay goes.
    source: String,
    /// The Rust path of the handler that reads the source queue, or `@delayed`.
    pub(crate) handler: String,
    /// `event`, `queue` or `schedule`, and its name, from the function's description.
    kind: String,
    name: String,
    /// The source queue's `maxReceiveCount`.
    attempts: u64,
}

/// One dead letter, as listed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// Its SQS message id.
    id: String,
    handler: String,
    kind: String,
    name: String,
    attempts: u64,
    /// Why the last attempt failed; `None` when the queue's redrive moved it.
    error: Option<String>,
    /// When it was published (or first sent), in milliseconds since the Unix epoch.
    time: u64,
    age_ms: u64,
    body: String,
    /// The logical ID of its dead-letter queue.
    queue: String,
    #[serde(skip)]
    receipt: String,
    #[serde(skip)]
    attributes: HashMap<String, MessageAttributeValue>,
    #[serde(skip)]
    group: Option<String>,
    /// Its place in its FIFO queue's message group: the order a replay keeps.
    #[serde(skip)]
    sequence: Option<u128>,
}

/// What `events --stage NAME --dead --message-format json` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    reason: &'static str,
    stage: &'a str,
    stack: &'a str,
    dead_letters: Vec<&'a DeadLetter>,
}

/// The stage's stack, opened: its session, name and dead-letter queues.
pub(crate) struct Opened {
    pub(crate) session: Session,
    pub(crate) stack: String,
    queues: Vec<DeadQueue>,
}

/// Finds the stage's stack: its session and name; an error when there is no such stack.
pub(crate) async fn open_stack(stage: &Stage, name: &str) -> Result<(Session, String)> {
    stack::check_stage(name)?;
    let config = stage.app.config()?;
    let stack_name = stack::stack_name(&config.app, name);
    let session = Session::open(&stage.target, config.region.as_deref()).await?;
    let cf = session.cloudformation();
    if stack::describe(&session, &cf, &stack_name).await?.is_none() {
        bail!(
            "there is no stack `{stack_name}` (app `{}`, stage `{name}`) at {}: deploy it with \
             `cargo eventfn deploy --stage {name}`",
            config.app,
            session.endpoint_name()
        );
    }
    Ok((session, stack_name))
}

/// Finds the stage's stack and its dead-letter queues; an error when there is no such stack.
pub(crate) async fn open(stage: &Stage, name: &str) -> Result<Opened> {
    let (session, stack_name) = open_stack(stage, name).await?;
    let cf = session.cloudformation();
    let deployed = stack::deployed_app(&session, &cf, &stack_name).await?;
    let (template, physical) = (deployed.template, deployed.physical);
    let queues = dead_queues(&template, &physical);
    Ok(Opened {
        session,
        stack: stack_name,
        queues,
    })
}

/// `{"Fn::GetAtt": [id, "Arn"]}` or `{"Ref": id}` → `id`.
fn referenced(value: &Value) -> Option<&str> {
    value["Fn::GetAtt"][0]
        .as_str()
        .or_else(|| value["Ref"].as_str())
}

/// The stack's dead-letter queues, from its template (which queue redrives to which, and which
/// function reads which queue) and its resources' physical IDs (the queue URLs).
fn dead_queues(template: &Value, physical: &HashMap<String, String>) -> Vec<DeadQueue> {
    let empty = serde_json::Map::new();
    let resources = template["Resources"].as_object().unwrap_or(&empty);
    let of_type = |kind: &'static str| resources.iter().filter(move |(_, r)| r["Type"] == kind);
    // Queue → the function reading it.
    let readers: HashMap<&str, &Value> = of_type("AWS::Lambda::EventSourceMapping")
        .filter_map(|(_, m)| {
            let queue = referenced(&m["Properties"]["EventSourceArn"])?;
            let function = referenced(&m["Properties"]["FunctionName"])?;
            Some((queue, &resources.get(function)?["Properties"]))
        })
        .collect();
    let mut found = Vec::new();
    for (source, queue) in of_type("AWS::SQS::Queue") {
        let redrive = &queue["Properties"]["RedrivePolicy"];
        let Some(dead) = referenced(&redrive["deadLetterTargetArn"]) else {
            continue;
        };
        let (Some(url), Some(source_url)) = (physical.get(dead), physical.get(source)) else {
            continue;
        };
        let function = readers.get(source.as_str());
        let handler = function
            .and_then(|f| f["Environment"]["Variables"]["EVENTFN_HANDLER"].as_str())
            .unwrap_or("?")
            .to_owned();
        // Descriptions read "queue `jobs`: app::jobs".
        let description = function
            .and_then(|f| f["Description"].as_str())
            .unwrap_or_default();
        let (kind, name) = match description.split_once(" `") {
            Some((kind, rest)) if handler != DELAYED_HANDLER => (
                kind.to_owned(),
                rest.split('`').next().unwrap_or_default().to_owned(),
            ),
            _ => ("delayed".to_owned(), String::new()),
        };
        found.push(DeadQueue {
            id: dead.to_owned(),
            url: url.clone(),
            source: source_url.clone(),
            handler,
            kind,
            name,
            attempts: redrive["maxReceiveCount"].as_u64().unwrap_or(0),
        });
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

/// Receives every message of `queue`, each hidden for [`HIDE_SECONDS`].
async fn receive_all(
    session: &Session,
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadQueue,
) -> Result<Vec<DeadLetter>> {
    let mut letters: BTreeMap<String, DeadLetter> = BTreeMap::new();
    // Long polls ask every SQS server, so an empty answer means nothing is left to see. The
    // reading stops too when a message comes back (the queue went round) and well before the
    // first ones would be visible again, so every receipt kept is still good.
    let started = std::time::Instant::now();
    let budget = std::time::Duration::from_secs(HIDE_SECONDS as u64 / 2);
    while started.elapsed() < budget {
        let output = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(HIDE_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| {
                session.explain(
                    &format!("could not read dead-letter queue `{}`", queue.id),
                    e,
                )
            })?;
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        let mut again = false;
        for message in messages {
            let letter = letter(queue, message);
            // The newest receipt is the one SQS honours.
            again |= letters.insert(letter.id.clone(), letter).is_some();
        }
        if again {
            break;
        }
    }
    Ok(letters.into_values().collect())
}

/// What a received message of `queue` says.
fn letter(queue: &DeadQueue, message: Message) -> DeadLetter {
    let attributes = message.message_attributes.clone().unwrap_or_default();
    let text = |key: &str| {
        attributes
            .get(key)
            .and_then(|v| v.string_value().map(str::to_owned))
    };
    let number = |key: &str| text(key).and_then(|v| v.parse::<u64>().ok());
    let system = message.attributes.clone().unwrap_or_default();
    let sent = system
        .get(&MessageSystemAttributeName::SentTimestamp)
        .and_then(|v| v.parse().ok());
    let body = message.body.clone().unwrap_or_default();
    let (mut kind, mut name) = (
        queue.kind.clone(),
        text("eventfn.name").unwrap_or(queue.name.clone()),
    );
    let mut time = number("eventfn.time").or(sent).unwrap_or(0);
    if queue.handler == DELAYED_HANDLER {
        // A delayed message says where it was going and when it was published.
        if let Ok(delayed) = serde_json::from_str::<Delayed<&serde_json::value::RawValue>>(&body) {
            kind = delayed.eventfn.kind.as_str().to_owned();
            name = delayed.eventfn.name;
            time = delayed.eventfn.time;
        }
    }
    DeadLetter {
        id: message.message_id.clone().unwrap_or_default(),
        handler: text(HANDLER_ATTRIBUTE).unwrap_or(queue.handler.clone()),
        kind,
        name,
        attempts: number(ATTEMPTS_ATTRIBUTE).unwrap_or(queue.attempts),
        error: text(ERROR_ATTRIBUTE),
        time,
        age_ms: now_ms().saturating_sub(time),
        body,
        queue: queue.id.clone(),
        receipt: message.receipt_handle.unwrap_or_default(),
        group: system
            .get(&MessageSystemAttributeName::MessageGroupId)
            .cloned(),
        sequence: system
            .get(&MessageSystemAttributeName::SequenceNumber)
            .and_then(|n| n.parse().ok()),
        attributes,
    }
}

/// What becomes of received messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// Visible again at once.
    Release,
    Delete,
}

/// Releases or deletes received messages, ten at a time.
async fn settle(
    session: &Session,
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadQueue,
    letters: &[&DeadLetter],
    how: Settle,
) -> Result<()> {
    for chunk in letters.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), &l.receipt));
        // (code, message) of the first entry SQS refused.
        let refused = match how {
            Settle::Release => {
                let entries = entries
                    .map(|(id, receipt)| {
                        ChangeMessageVisibilityBatchRequestEntry::builder()
                            .id(id)
                            .receipt_handle(receipt)
                            .visibility_timeout(0)
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let output = sqs
                    .change_message_visibility_batch()
                    .queue_url(&queue.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| {
                        session.explain(
                            &format!("could not release the messages of `{}`", queue.id),
                            e,
                        )
                    })?;
                output
                    .failed()
                    .first()
                    .map(|f| (f.code().to_owned(), f.message().map(str::to_owned)))
            }
            Settle::Delete => {
                let entries = entries
                    .map(|(id, receipt)| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(id)
                            .receipt_handle(receipt)
                            .build()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let output = sqs
                    .delete_message_batch()
                    .queue_url(&queue.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| {
                        session.explain(&format!("could not delete from `{}`", queue.id), e)
                    })?;
                output
                    .failed()
                    .first()
                    .map(|f| (f.code().to_owned(), f.message().map(str::to_owned)))
            }
        };
        if let Some((code, message)) = refused {
            bail!(
                "could not {} a dead letter of `{}`: {code}: {}",
                if how == Settle::Delete {
                    "delete"
                } else {
                    "release"
                },
                queue.id,
                message.unwrap_or_default()
            );
        }
    }
    Ok(())
}

async fn release(
    session: &Session,
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadQueue,
    letters: &[&DeadLetter],
) -> Result<()> {
    settle(session, sqs, queue, letters, Settle::Release).await
}

async fn delete(
    session: &Session,
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadQueue,
    letters: &[&DeadLetter],
) -> Result<()> {
    settle(session, sqs, queue, letters, Settle::Delete).await
}

/// How many messages each dead-letter queue of the stage holds, visible or not: SQS's
/// approximate counts, exact for a queue nothing is writing to.
pub(crate) async fn counts<'a>(
    opened: &'a Opened,
    sqs: &aws_sdk_sqs::Client,
) -> Result<Vec<(&'a DeadQueue, u64)>> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let reads = opened.queues.iter().map(|queue| async move {
        let output = sqs
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| {
                opened.session.explain(
                    &format!("could not count the dead letters of `{}`", queue.id),
                    e,
                )
            })?;
        let count = output
            .attributes()
            .into_iter()
            .flat_map(|attributes| attributes.values())
            .filter_map(|n| n.parse::<u64>().ok())
            .sum();
        Ok::<_, anyhow::Error>((queue, count))
    });
    futures_util::future::try_join_all(reads).await
}

/// Every dead letter of the stage, by queue; each is hidden until `release` or `delete`.
async fn collect<'a>(
    opened: &'a Opened,
    sqs: &aws_sdk_sqs::Client,
) -> Result<Vec<(&'a DeadQueue, Vec<DeadLetter>)>> {
    // All at once: each read ends with a long poll that finds its queue empty.
    let reads = opened.queues.iter().map(|queue| async move {
        Ok::<_, anyhow::Error>((queue, receive_all(&opened.session, sqs, queue).await?))
    });
    futures_util::future::try_join_all(reads).await
}

/// `cargo eventfn events --stage NAME --dead`.
pub fn events(
    stage: &Stage,
    name: &str,
    dead: bool,
    limit: usize,
    format: MessageFormat,
) -> Result<()> {
    if !dead {
        bail!(
            "with --stage, `events` lists the stage's dead letters only: add --dead (what was \
             delivered is in the functions' CloudWatch logs)"
        );
    }
    runtime()?.block_on(async {
        let opened = open(stage, name).await?;
        let sqs = aws_sdk_sqs::Client::new(&opened.session.config);
        let counts = counts(&opened, &sqs).await?;
        let all = collect(&opened, &sqs).await?;
        for (queue, letters) in &all {
            let letters: Vec<&DeadLetter> = letters.iter().collect();
            release(&opened.session, &sqs, queue, &letters).await?;
        }
        // SQS hands out one message group of a FIFO queue at a time, and no message another
        // reader holds: say so when fewer could be read than the queue holds.
        for ((queue, held), (_, read)) in counts.iter().zip(&all) {
            if (read.len() as u64) < *held {
                anstream::eprintln!(
                    "warning: `{}` holds about {held} dead letters, of which {} could be read now: \
                     SQS hands out the first of a FIFO queue's message group only, and none that \
                     another reader holds; the rest can be read once these are replayed or purged",
                    queue.id,
                    read.len()
                );
            }
        }
        let mut letters: Vec<&DeadLetter> = all.iter().flat_map(|(_, l)| l).collect();
        letters.sort_by_key(|l| std::cmp::Reverse(l.time));
        let older = letters.len().saturating_sub(limit);
        letters.truncate(limit);
        if older > 0 {
            anstream::eprintln!(
                "the {limit} newest dead letters of stage `{name}`; {older} older not shown \
                 (--limit N shows more)"
            );
        }
        if format == MessageFormat::Json {
            let listed = Listed {
                reason: "eventfn-dead-letters",
                stage: name,
                stack: &opened.stack,
                dead_letters: letters,
            };
            println!("{}", serde_json::to_string(&listed)?);
            return Ok(());
        }
        if letters.is_empty() {
            anstream::eprintln!(
                "no dead letters in stage `{name}` (stack `{}`)",
                opened.stack
            );
            return Ok(());
        }
        println!("{:<36}  {:>8}  {:>7}  WHAT", "ID", "ATTEMPTS", "AGE");
        for l in &letters {
            let what = match l.kind.as_str() {
                "delayed" => "a delayed publish".to_owned(),
                kind => format!("{kind} `{}`", l.name),
            };
            let (handler, unrecorded) = if l.handler == DELAYED_HANDLER {
                (
                    "its topic or queue, delayed (the delay queue's function)".to_owned(),
                    "not recorded: the delay queue's function could not send it on; see its log",
                )
            } else {
                (
                    format!("`{}`", l.handler),
                    "not recorded: the queue's redrive moved it (the function was stopped, by \
                     its timeout or a crash, before it could say why; see its log)",
                )
            };
            println!(
                "{:<36}  {:>8}  {:>7}  {what} → {handler}",
                l.id,
                l.attempts,
                crate::sandbox::human_delay(l.age_ms)
            );
            println!(
                "{:>38}error: {}",
                "",
                l.error.as_deref().unwrap_or(unrecorded)
            );
        }
        Ok(())
    })
}

/// `cargo eventfn replay --stage NAME ID|--all`.
pub fn replay(shell: &Shell, stage: &Stage, name: &str, id: Option<&str>) -> Result<()> {
    runtime()?.block_on(async {
        let opened = open(stage, name).await?;
        let sqs = aws_sdk_sqs::Client::new(&opened.session.config);
        let mut replayed = 0;
        let mut outcome = Ok(());
        // With --all, read again until the letters there at the start are replayed: SQS hands
        // out one message group of a FIFO queue at a time, the next once the one before is
        // gone. Counted at the start, so that a letter that fails again at once and comes back
        // is not replayed twice by one command.
        // Each queue replays at most what it held at the start, oldest first.
        let mut left: HashMap<String, u64> = match id {
            Some(_) => HashMap::new(),
            None => counts(&opened, &sqs)
                .await?
                .into_iter()
                .map(|(queue, n)| (queue.id.clone(), n))
                .collect(),
        };
        for _round in 0..MAX_REPLAY_ROUNDS {
            let before = replayed;
            let all = collect(&opened, &sqs).await?;
            replay_round(
                shell,
                &opened,
                &sqs,
                &all,
                id,
                &mut left,
                &mut replayed,
                &mut outcome,
            )
            .await?;
            let done = left.values().all(|n| *n == 0);
            if id.is_some() || outcome.is_err() || replayed == before || done {
                break;
            }
        }
        outcome?;
        match (id, replayed) {
            (Some(id), 0) => bail!(
                "stage `{name}` has no dead letter `{id}`: `cargo eventfn events --stage {name} \
                 --dead` lists them"
            ),
            (None, 0) => shell.status(
                "Replayed",
                format!("nothing: stage `{name}` has no dead letters"),
            ),
            _ => {}
        }
        Ok(())
    })
}

/// The most rounds of reading a `replay --all` makes: each reaches at least one more message
/// group of a FIFO queue.
const MAX_REPLAY_ROUNDS: usize = 100;

/// Replays the chosen letters of `all` (the one with `id`; or every one, oldest first, up to
/// what `left` allows each queue), counting them in `replayed`; the first failure to send one
/// back lands in `outcome` and stops the rest, which stay dead letters.
#[allow(clippy::too_many_arguments)]
async fn replay_round(
    shell: &Shell,
    opened: &Opened,
    sqs: &aws_sdk_sqs::Client,
    all: &[(&DeadQueue, Vec<DeadLetter>)],
    id: Option<&str>,
    left: &mut HashMap<String, u64>,
    replayed: &mut usize,
    outcome: &mut Result<()>,
) -> Result<()> {
    for (queue, letters) in all {
        let (mut chosen, mut rest): (Vec<&DeadLetter>, Vec<&DeadLetter>) =
            letters.iter().partition(|l| id.is_none_or(|id| l.id == id));
        if id.is_none() {
            // A letter that came back during this run is behind those that were there.
            chosen.sort_by_key(|l| (l.sequence, l.time));
            let allowed = left.get(&queue.id).copied().unwrap_or(0);
            let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
            if chosen.len() > allowed {
                rest.extend(chosen.split_off(allowed));
            }
        }
        release(&opened.session, sqs, queue, &rest).await?;
        for (i, letter) in chosen.iter().enumerate() {
            if outcome.is_ok() {
                *outcome = send_back(&opened.session, sqs, queue, letter).await;
            }
            if outcome.is_err() {
                // What was not replayed stays a dead letter.
                release(&opened.session, sqs, queue, &chosen[i..]).await?;
                break;
            }
            delete(&opened.session, sqs, queue, &[letter])
                .await
                .with_context(|| {
                    format!(
                        "dead letter {} was sent back to the queue of `{}` but is still a dead \
                             letter: do not replay it again, purge it or let it expire",
                        letter.id, letter.handler
                    )
                })?;
            *replayed += 1;
            if let Some(n) = left.get_mut(&queue.id) {
                *n = n.saturating_sub(1);
            }
            shell.status(
                "Replayed",
                format!(
                    "dead letter {} ({} `{}`) to the queue of `{}`",
                    letter.id, letter.kind, letter.name, letter.handler
                ),
            );
        }
    }
    Ok(())
}

/// Sends a dead letter back to the queue it came from, with the attributes its publisher set.
async fn send_back(
    session: &Session,
    sqs: &aws_sdk_sqs::Client,
    queue: &DeadQueue,
    letter: &DeadLetter,
) -> Result<()> {
    let attributes: HashMap<String, MessageAttributeValue> = letter
        .attributes
        .iter()
        .filter(|(key, _)| {
            ![ERROR_ATTRIBUTE, ATTEMPTS_ATTRIBUTE, HANDLER_ATTRIBUTE].contains(&key.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let fifo = queue.source.ends_with(".fifo");
    sqs.send_message()
        .queue_url(&queue.source)
        .message_body(&letter.body)
        .set_message_attributes((!attributes.is_empty()).then_some(attributes))
        .set_message_group_id(
            fifo.then(|| letter.group.clone().unwrap_or_else(|| letter.name.clone())),
        )
        // Unique per send: a letter replayed, failed again and replayed within SQS's five-minute
        // deduplication window must not be dropped as a duplicate.
        .set_message_deduplication_id(fifo.then(|| format!("replay-{}-{}", letter.id, now_ms())))
        .send()
        .await
        .map_err(|e| {
            session.explain(
                &format!("could not send dead letter {} back to its queue", letter.id),
                e,
            )
        })?;
    Ok(())
}

/// `cargo eventfn purge --dead --yes`, of the running sandbox or (with `--stage NAME`) of a
/// deployed stage.
pub fn purge(shell: &Shell, args: &PurgeArgs) -> Result<()> {
    let Some(name) = &args.stage.stage else {
        args.stage.without_stage()?;
        return crate::sandbox::purge(shell, &args.sandbox, args.yes);
    };
    runtime()?.block_on(async {
        let opened = open(&args.stage, name).await?;
        let sqs = aws_sdk_sqs::Client::new(&opened.session.config);
        // Counted, not received: SQS hands out one message group of a FIFO queue at a time, so
        // receiving would not see them all, and `PurgeQueue` drops every one.
        let counts = counts(&opened, &sqs).await?;
        let count: u64 = counts.iter().map(|(_, n)| n).sum();
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        if !args.yes {
            bail!(
                "purging deletes the {count} dead letter{} of stage `{name}` for good: pass --yes \
                 to go ahead",
                plural(count)
            );
        }
        // Every queue, those counted empty too: SQS's counts lag behind a letter just sent.
        for (queue, n) in &counts {
            let purged = sqs.purge_queue().queue_url(&queue.url).send().await;
            let busy = purged
                .as_ref()
                .err()
                .and_then(|e| e.as_service_error())
                .is_some_and(|e| e.is_purge_queue_in_progress());
            if *n == 0 && busy {
                // Purged within the minute already, and counted empty: nothing to do.
                continue;
            }
            purged.map_err(|e| {
                if busy {
                    return anyhow::anyhow!(
                        "could not purge `{}`: a purge of it is under way (SQS takes one a \
                             minute per queue); run this again in a minute",
                        queue.id
                    );
                }
                opened
                    .session
                    .explain(&format!("could not purge `{}`", queue.id), e)
            })?;
            if *n == 0 {
                continue;
            }
            shell.status(
                "Purged",
                format!(
                    "{n} dead letter{} of {}",
                    plural(*n),
                    if queue.handler == DELAYED_HANDLER {
                        "the delay queue".to_owned()
                    } else {
                        format!("`{}`", queue.handler)
                    }
                ),
            );
        }
        shell.status(
            "Purged",
            format!(
                "{count} dead letter{} of stage `{name}` (SQS completes a purge within a minute)",
                plural(count)
            ),
        );
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_queues_are_found_in_the_deployed_template() {
        let template = serde_json::json!({ "Resources": {
            "QueueJobs": { "Type": "AWS::SQS::Queue", "Properties": {
                "RedrivePolicy": { "deadLetterTargetArn": { "Fn::GetAtt": ["HandlerJobsDeadLetters", "Arn"] }, "maxReceiveCount": 4 } } },
            "HandlerJobsDeadLetters": { "Type": "AWS::SQS::Queue", "Properties": {} },
            "HandlerJobsFunction": { "Type": "AWS::Lambda::Function", "Properties": {
                "Description": "queue `jobs`: app::jobs",
                "Environment": { "Variables": { "EVENTFN_HANDLER": "app::jobs" } } } },
            "HandlerJobsMapping": { "Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "EventSourceArn": { "Fn::GetAtt": ["QueueJobs", "Arn"] },
                "FunctionName": { "Ref": "HandlerJobsFunction" } } },
            "DelayQueue": { "Type": "AWS::SQS::Queue", "Properties": {
                "RedrivePolicy": { "deadLetterTargetArn": { "Fn::GetAtt": ["DelayDeadLetters", "Arn"] }, "maxReceiveCount": 5 } } },
            "DelayDeadLetters": { "Type": "AWS::SQS::Queue", "Properties": {} },
            "DelayFunction": { "Type": "AWS::Lambda::Function", "Properties": {
                "Description": "eventfn: sends delayed events",
                "Environment": { "Variables": { "EVENTFN_HANDLER": "@delayed" } } } },
            "DelayMapping": { "Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "EventSourceArn": { "Fn::GetAtt": ["DelayQueue", "Arn"] },
                "FunctionName": { "Ref": "DelayFunction" } } },
        }});
        let physical: HashMap<String, String> = [
            "QueueJobs",
            "HandlerJobsDeadLetters",
            "DelayQueue",
            "DelayDeadLetters",
        ]
        .iter()
        .map(|id| (id.to_string(), format!("https://sqs/{id}")))
        .collect();
        assert_eq!(
            dead_queues(&template, &physical),
            [
                DeadQueue {
                    id: "DelayDeadLetters".into(),
                    url: "https://sqs/DelayDeadLetters".into(),
                    source: "https://sqs/DelayQueue".into(),
                    handler: "@delayed".into(),
                    kind: "delayed".into(),
                    name: String::new(),
                    attempts: 5,
                },
                DeadQueue {
                    id: "HandlerJobsDeadLetters".into(),
                    url: "https://sqs/HandlerJobsDeadLetters".into(),
                    source: "https://sqs/QueueJobs".into(),
                    handler: "app::jobs".into(),
                    kind: "queue".into(),
                    name: "jobs".into(),
                    attempts: 4,
                },
            ]
        );
    }
}
