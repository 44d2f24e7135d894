//! `cargo eventfn publish`, `trigger`, `events` and `replay`: requests to a running sandbox's API
//! (`eventfn_core::sandbox`), found at `--sandbox`, `EVENTFN_SANDBOX` or the default port.
//!
//! They name the sandbox's two ids as it does: the **event** (a publish, an enqueue or a
//! schedule's firing; `publish` and `trigger` print its id) and the **delivery** (that event's
//! delivery to one handler; `events` lists their ids, `events ID` shows one, `replay ID` replays
//! one).

use std::io::Read as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use eventfn_core::sandbox::{
    ApiError, AppInfo, AttemptView, Counted, Deliveries, DeliveryDetail, DeliveryView,
    OutgoingMessage, PublishRequest, Published, PurgeRequest, ReplayRequest, SANDBOX_ENV,
    TriggerRequest, duration_us,
};
use eventfn_core::{Kind, MAX_PAYLOAD_BYTES, parse_after, validate_name};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::MessageFormat;
use crate::redact;
use crate::shell::Shell;

#[derive(Args, Debug, Clone)]
pub struct Sandbox {
    /// Address of the running sandbox, as `cargo eventfn dev` prints it.
    #[arg(
        long,
        value_name = "URL",
        env = SANDBOX_ENV,
        hide_env_values = true,
        default_value = "http://127.0.0.1:4747"
    )]
    pub sandbox: String,
}

#[derive(Args, Debug, Clone)]
pub struct PublishArgs {
    /// The event (or with --queue, the queue) to send to. With --bus, the only argument: the
    /// event's detail as JSON.
    pub name: String,

    /// The payload as JSON, like '{"user_id": "u1"}'; `-` reads it from stdin.
    pub json: Option<String>,

    /// Put an event on this EventBridge bus instead (`default`, a partner bus or a bus of the
    /// app), for every rule on it whose pattern matches: `--bus default --source aws.s3
    /// --detail-type "Object Created" '{"bucket": {"name": "uploads"}}'`.
    #[arg(long, value_name = "BUS", conflicts_with_all = ["queue", "after"], requires = "detail_type")]
    pub bus: Option<String>,

    /// With --bus: the event's source, like `aws.s3` or `shop.orders`.
    #[arg(long, value_name = "SOURCE", requires = "bus", default_value = eventfn_core::pattern::DEFAULT_SOURCE)]
    pub source: String,

    /// With --bus: the event's detail type, like "Object Created".
    #[arg(long, value_name = "TYPE", requires = "bus")]
    pub detail_type: Option<String>,

    /// Deliver no sooner than this: milliseconds, a Unix timestamp in milliseconds, an RFC 3339
    /// UTC time, or a count and unit like "5 minutes" or "1 day" (at most a year ahead).
    #[arg(long, value_name = "WHEN")]
    pub after: Option<String>,

    /// Send to the queue NAME instead of publishing event NAME.
    #[arg(long)]
    pub queue: bool,

    #[command(flatten)]
    pub sandbox: Sandbox,

    /// With --stage NAME: into that deployed stage instead of the sandbox, as a handler of it
    /// publishes (its topics, queues and buses found through the stack's SSM parameters).
    #[command(flatten)]
    pub stage: crate::dead::Stage,
}

#[derive(Args, Debug, Clone)]
pub struct TriggerArgs {
    /// The schedule to fire now (its `name`, by default the function's name).
    pub name: String,

    #[command(flatten)]
    pub sandbox: Sandbox,
}

#[derive(Args, Debug, Clone)]
pub struct EventsArgs {
    /// Show one delivery in full: its payload, its event, each attempt with its time, duration
    /// and error, and what its handler published. ID is a delivery's, as the DELIVERY column
    /// lists them.
    #[arg(value_name = "ID", conflicts_with_all = ["failed", "dead", "limit"])]
    pub id: Option<String>,

    /// Only deliveries whose last attempt failed: waiting for a retry, or dead.
    #[arg(long, conflicts_with = "dead")]
    pub failed: bool,

    /// Only dead letters: deliveries that failed every attempt.
    #[arg(long)]
    pub dead: bool,

    /// How many deliveries (with --stage, dead letters) to list, newest first.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,

    /// Output format on stdout: `human`, or `json` (the sandbox's answer).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, value_name = "FMT")]
    pub message_format: MessageFormat,

    #[command(flatten)]
    pub sandbox: Sandbox,

    #[command(flatten)]
    pub stage: crate::dead::Stage,
}

#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// The dead delivery's id, as the DELIVERY column of `cargo eventfn events --dead` lists it
    /// (with --stage, a dead letter's id, as `events --stage NAME --dead` lists it).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub id: Option<String>,

    /// Replay every dead letter.
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub sandbox: Sandbox,

    #[command(flatten)]
    pub stage: crate::dead::Stage,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Sandbox {
    fn url(&self, path: &str) -> Result<String> {
        let base = self.sandbox.trim_end_matches('/');
        if !base.starts_with("http://") {
            bail!(
                "`{}` is not the address of a sandbox: it reads like `http://127.0.0.1:4747`, as \
                 `cargo eventfn dev` prints (--sandbox or {SANDBOX_ENV})",
                redact::url(&self.sandbox)
            );
        }
        Ok(format!("{base}{path}"))
    }

    /// The process's one agent: its connections are kept alive, so the requests of one command
    /// (a replay of every dead letter, say) share one.
    fn agent() -> &'static ureq::Agent {
        static AGENT: std::sync::OnceLock<ureq::Agent> = std::sync::OnceLock::new();
        AGENT.get_or_init(|| {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into()
        })
    }

    /// Sends a request and reads the answer, or the sandbox's reason for refusing it.
    fn call<A: DeserializeOwned>(&self, path: &str, body: Option<&impl Serialize>) -> Result<A> {
        let url = self.url(path)?;
        let agent = Self::agent();
        let sent = match body {
            Some(body) => agent
                .post(&url)
                .header("content-type", "application/json")
                .send(serde_json::to_vec(body)?),
            None => agent.get(&url).call(),
        };
        let mut response = sent.map_err(|e| {
            anyhow!(
                "no sandbox answers at {} ({e}): start one with `cargo eventfn dev`, or point \
                 --sandbox or {SANDBOX_ENV} at the one running",
                redact::url(&self.sandbox)
            )
        })?;
        let status = response.status();
        let text = response.body_mut().read_to_string().with_context(|| {
            format!("cannot read the sandbox's answer to {}", redact::url(&url))
        })?;
        if !status.is_success() {
            let why = serde_json::from_str::<ApiError>(&text)
                .map(|e| e.error)
                .unwrap_or(text);
            // The request was wrong, and the sandbox says how: that is the whole error.
            if status.is_client_error() {
                bail!("{why}");
            }
            bail!("the sandbox failed ({status}): {why}");
        }
        serde_json::from_str(&text).with_context(|| {
            format!(
                "the sandbox's answer to {} is not what was expected",
                redact::url(&url)
            )
        })
    }
}

/// The JSON an argument holds: itself, or stdin's for `-`.
pub(crate) fn json_argument(argument: &str) -> Result<String> {
    if argument != "-" {
        return Ok(argument.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the payload from stdin")?;
    Ok(text)
}

/// `cargo eventfn publish --bus`: an event put on a bus of the sandbox.
fn put(shell: &Shell, args: &PublishArgs, bus: &str) -> Result<()> {
    let quoted = eventfn_core::quote::excerpt(bus);
    if args.json.is_some() {
        bail!(
            "with --bus, the only argument is the event's detail as JSON; the event is named by \
             --source and --detail-type"
        );
    }
    eventfn_core::Bus::parse(bus).map_err(|e| anyhow!("invalid bus: {e}"))?;
    let detail_type = args.detail_type.clone().unwrap_or_default();
    let body = json_argument(&args.name)?.trim().to_owned();
    serde_json::from_str::<serde::de::IgnoredAny>(&body).map_err(|e| {
        anyhow!("cannot put an event on bus `{quoted}`: the detail is not JSON: {e}")
    })?;
    eventfn_core::pattern::check_entry(&args.source, &detail_type, &body, true)
        .map_err(|e| anyhow!("cannot put an event on bus `{quoted}`: {e}"))?;
    let message = OutgoingMessage {
        kind: Kind::Rule,
        name: bus.to_owned(),
        body,
        time: Some(now_ms()),
        delay: 0,
        source: Some(args.source.clone()),
        detail_type: Some(detail_type.clone()),
    };
    let into = send(args, message)?;
    shell.status(
        "Put",
        format!(
            "event `{detail_type}` from `{}` on bus `{quoted}` {into}",
            args.source,
        ),
    );
    Ok(())
}

/// Sends `message` to the running sandbox, or with --stage into a deployed stage: where it went,
/// said as `(event ID)` or `into stage ...`.
fn send(args: &PublishArgs, message: OutgoingMessage) -> Result<String> {
    if let Some(stage) = &args.stage.stage {
        return crate::publish::publish(&args.stage, stage, message);
    }
    args.stage.without_stage()?;
    let request = PublishRequest {
        messages: vec![message],
    };
    let published: Published = args.sandbox.call("/v1/publish", Some(&request))?;
    Ok(format!(
        "(event {})",
        published.events.first().copied().unwrap_or_default()
    ))
}

pub fn publish(shell: &Shell, args: &PublishArgs) -> Result<()> {
    if let Some(bus) = &args.bus {
        return put(shell, args, bus);
    }
    let kind = if args.queue { Kind::Queue } else { Kind::Event };
    let what = kind.as_str();
    let name = &args.name;
    validate_name(name).map_err(|e| anyhow!("invalid {what} name: {e}"))?;
    let Some(json) = &args.json else {
        bail!(
            "the payload is missing: `cargo eventfn publish {} JSON` (or `-` to read it from \
             stdin)",
            eventfn_core::quote::excerpt(name)
        );
    };
    let body = json_argument(json)?;
    // Checked, and sent as written: parsing it into a value would reorder keys and round large
    // numbers.
    serde_json::from_str::<serde::de::IgnoredAny>(&body)
        .map_err(|e| anyhow!("cannot send to {what} `{name}`: the payload is not JSON: {e}"))?;
    let body = body.trim().to_owned();
    if body.len() > MAX_PAYLOAD_BYTES {
        bail!(
            "cannot send to {what} `{name}`: {}",
            eventfn_core::payload_too_large(body.len())
        );
    }
    let time = now_ms();
    let delay = match &args.after {
        None => 0,
        Some(after) => parse_after(after, time).map_err(|e| anyhow!("--after: {e}"))?,
    };
    let message = OutgoingMessage {
        kind,
        name: name.clone(),
        body,
        time: Some(time),
        delay,
        source: None,
        detail_type: None,
    };
    let into = send(args, message)?;
    let when = if delay > 0 {
        format!(", delivered after {}", human_delay(delay))
    } else {
        String::new()
    };
    shell.status(
        if args.queue { "Enqueued" } else { "Published" },
        format!(
            "{}`{name}` {into}{when}",
            if args.queue { "to queue " } else { "event " },
        ),
    );
    Ok(())
}

pub fn trigger(shell: &Shell, args: &TriggerArgs) -> Result<()> {
    let published: Published = args.sandbox.call(
        "/v1/trigger",
        Some(&TriggerRequest {
            name: args.name.clone(),
        }),
    )?;
    shell.status(
        "Triggered",
        format!(
            "schedule `{}` (event {})",
            args.name,
            published.events.first().copied().unwrap_or_default()
        ),
    );
    Ok(())
}

pub fn replay(shell: &Shell, args: &ReplayArgs) -> Result<()> {
    if let Some(stage) = &args.stage.stage {
        return crate::dead::replay(shell, &args.stage, stage, args.id.as_deref());
    }
    args.stage.without_stage()?;
    let ids: Vec<i64> = match &args.id {
        Some(id) => vec![delivery_id(id, "for a deployed stage, add --stage NAME")?],
        None => {
            // The API's largest page; what is beyond it stays dead, and a second `--all`
            // replays it.
            const PAGE: usize = 10_000;
            let listed: Deliveries = args.sandbox.call(
                &format!("/v1/deliveries?filter=dead&limit={PAGE}"),
                None::<&()>,
            )?;
            if listed.deliveries.len() == PAGE {
                shell.warn(format!(
                    "replaying the newest {PAGE} dead letters; run `replay --all` again for the rest"
                ));
            }
            listed.deliveries.iter().map(|d| d.id).collect()
        }
    };
    if ids.is_empty() {
        shell.status("Replayed", "nothing: the sandbox has no dead letters");
    }
    for id in ids {
        replay_one(shell, &args.sandbox, id)?;
    }
    Ok(())
}

/// `cargo eventfn purge --dead --yes` of the running sandbox: every dead letter removed from its
/// store, with its attempts.
pub fn purge(shell: &Shell, sandbox: &Sandbox, yes: bool) -> Result<()> {
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    if !yes {
        let app: AppInfo = sandbox.call("/v1/app", None::<&()>)?;
        let count = app.dead;
        bail!(
            "purging deletes the {count} dead letter{} of the sandbox at {} for good: pass --yes \
             to go ahead",
            plural(count),
            redact::url(&sandbox.sandbox)
        );
    }
    let purged: Counted = sandbox.call("/v1/purge", Some(&PurgeRequest::default()))?;
    shell.status(
        "Purged",
        format!(
            "{} dead letter{} of the sandbox",
            purged.count,
            plural(purged.count)
        ),
    );
    Ok(())
}

fn replay_one(shell: &Shell, sandbox: &Sandbox, id: i64) -> Result<()> {
    let delivery: DeliveryView = sandbox.call("/v1/replay", Some(&ReplayRequest { id }))?;
    shell.status(
        "Replaying",
        format!(
            "delivery {} of {} (event {}) to `{}`",
            delivery.id,
            target(delivery.kind, &delivery.name),
            delivery.event,
            delivery.handler
        ),
    );
    Ok(())
}

/// A delivery id as typed; `hint` says what else it may have been meant for.
fn delivery_id(id: &str, hint: &str) -> Result<i64> {
    id.trim().parse().map_err(|_| {
        anyhow!(
            "`{}` is not a delivery id of the sandbox: those are numbers, as the DELIVERY column \
             of `cargo eventfn events` lists them ({hint})",
            eventfn_core::quote::excerpt(id)
        )
    })
}

pub fn events(args: &EventsArgs) -> Result<()> {
    if let Some(stage) = &args.stage.stage {
        if let Some(id) = &args.id {
            bail!(
                "`events {}` shows a delivery of the sandbox; a deployed stage's dead letters are \
                 listed, whole, with `cargo eventfn events --stage {stage} --dead`",
                eventfn_core::quote::excerpt(id)
            );
        }
        return crate::dead::events(
            &args.stage,
            stage,
            args.dead,
            args.limit,
            args.message_format,
        );
    }
    args.stage.without_stage()?;
    if let Some(id) = &args.id {
        let id = delivery_id(
            id,
            "the event ids that `publish` prints are not delivery ids",
        )?;
        let detail: DeliveryDetail = args
            .sandbox
            .call(&format!("/v1/deliveries/{id}"), None::<&()>)?;
        if args.message_format == MessageFormat::Json {
            println!("{}", serde_json::to_string(&detail)?);
        } else {
            print!("{}", show_detail(&detail, now_ms()));
        }
        return Ok(());
    }
    let filter = if args.dead {
        "dead"
    } else if args.failed {
        "failed"
    } else {
        "all"
    };
    let path = format!("/v1/deliveries?filter={filter}&limit={}", args.limit);
    let listed: Deliveries = args.sandbox.call(&path, None::<&()>)?;
    if args.message_format == MessageFormat::Json {
        println!("{}", serde_json::to_string(&listed)?);
        return Ok(());
    }
    if listed.deliveries.is_empty() {
        let which = match filter {
            "dead" => "no dead letters",
            "failed" => "no failed deliveries",
            _ => "no deliveries yet",
        };
        anstream::eprintln!("{which}");
        return Ok(());
    }
    print!("{}", show_list(&listed.deliveries, now_ms()));
    Ok(())
}

/// The listing of `events`, at `now`: a line per delivery, and its error beneath it.
fn show_list(deliveries: &[DeliveryView], now: u64) -> String {
    let mut out = format!(
        "{:>8}  {:<20}  {:<8}  {:>8}  {:>8}  WHAT\n",
        "DELIVERY", "PUBLISHED", "STATE", "ATTEMPTS", "DURATION"
    );
    for d in deliveries {
        // As on AWS, where the handler's subscription drops what its filter does not match.
        let filtered = if d.state == "filtered" {
            ": the payload does not match its filter"
        } else {
            ""
        };
        let due = if d.state == "pending" && d.due > now {
            format!(" (due in {})", human_delay(d.due - now))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{:>8}  {}  {:<10}  {:<8}  {:>8}  {:>8}  {} (event {}) → {}{due}{filtered}\n",
            d.id,
            local_time(d.time, "%H:%M:%S"),
            age(d.time, now),
            d.state,
            d.attempts,
            duration(d),
            target(d.kind, &d.name),
            d.event,
            d.handler
        ));
        if let Some(error) = &d.error {
            out.push_str(&format!("{:>10}error: {error}\n", ""));
        }
    }
    out
}

/// What an event went to, as listings name it: `event `account-signup``, `queue `jobs``, or for
/// an event put on a bus (whose rules' deliveries these are), `bus `budgets``.
fn target(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Rule => format!("bus `{name}`"),
        kind => format!("{} `{name}`", kind.as_str()),
    }
}

/// How long its last attempt took, as the live log shows it; from a sandbox that said only
/// milliseconds, those.
fn duration(d: &DeliveryView) -> String {
    match (d.duration_us, d.duration) {
        (Some(us), _) => duration_us(us),
        (None, Some(ms)) => format!("{ms}ms"),
        (None, None) => "-".to_owned(),
    }
}

/// `events ID`, at `now`: the delivery, its event, its payload, its attempts and what its handler
/// published.
fn show_detail(detail: &DeliveryDetail, now: u64) -> String {
    let d = &detail.delivery;
    let full = "%Y-%m-%d %H:%M:%S%.3f";
    let mut out = format!(
        "delivery {} of {} to {}: {}\n\n",
        d.id,
        target(d.kind, &d.name),
        d.handler,
        state(d, now)
    );
    let mut field = |name: &str, value: String| out.push_str(&format!("{name:<13} {value}\n"));
    field(
        "event",
        format!("{} ({})", d.event, target(d.kind, &d.name)),
    );
    field("handler", d.handler.clone());
    field(
        "published",
        format!("{} ({})", local_time(d.time, full), age(d.time, now)),
    );
    if let Some(by) = d.published_by {
        field(
            "published by",
            format!("the handler of delivery {by} (`cargo eventfn events {by}`)"),
        );
    }
    field(
        "delay",
        if d.delay == 0 {
            "none".to_owned()
        } else {
            human_delay(d.delay)
        },
    );
    // Due as published; a retry or a replay is due again later.
    let due = d.time.saturating_add(d.delay);
    field("due", local_time(due, full));
    if let Some(zone) = d.timezone.as_deref() {
        // A schedule's firing: when it was due on the clock it reads, and in UTC.
        field("scheduled", zoned_time(d.time, zone));
    }
    if d.state == "pending" && d.due != due {
        field(
            "next attempt",
            format!("{} ({})", local_time(d.due, full), until(d.due, now)),
        );
    }
    field("attempts", d.attempts.to_string());
    field(
        "payload",
        format!("{} byte{}", d.size, if d.size == 1 { "" } else { "s" }),
    );
    match &d.body {
        Some(body) => {
            for line in pretty_json(body).lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
        None => out.push_str("    (not in the sandbox's answer)\n"),
    }

    out.push_str("\nattempts\n");
    if detail.earlier_attempts > 0 {
        out.push_str(&format!(
            "    ({} earlier attempts not shown)\n",
            detail.earlier_attempts
        ));
    }
    for a in &detail.attempts {
        out.push_str(&show_attempt(a));
    }
    if detail.attempts.is_empty() {
        out.push_str(if d.state == "filtered" {
            "    none: the payload does not match the handler's filter\n"
        } else if d.attempts > 0 {
            "    not kept: made before this sandbox kept attempts\n"
        } else {
            "    none yet\n"
        });
    }

    if !detail.published.is_empty() {
        let events: std::collections::BTreeSet<i64> =
            detail.published.iter().map(|p| p.event).collect();
        out.push_str(&format!(
            "\npublished {} event{}, delivered as\n",
            events.len(),
            if events.len() == 1 { "" } else { "s" }
        ));
        for p in &detail.published {
            out.push_str(&format!(
                "{:>8}  {:<8}  {} (event {}) → {}\n",
                p.id,
                p.state,
                target(p.kind, &p.name),
                p.event,
                p.handler
            ));
        }
        if detail.more_published > 0 {
            out.push_str(&format!(
                "    and {} more deliveries\n",
                detail.more_published
            ));
        }
    }
    out
}

/// A delivery's state, said in words.
fn state(d: &DeliveryView, now: u64) -> String {
    match d.state.as_str() {
        "pending" if d.due > now => format!("pending, due in {}", human_delay(d.due - now)),
        "pending" if d.attempts > 0 => "pending, to be retried now".to_owned(),
        "dead" => format!(
            "dead after {} attempt{} (`cargo eventfn replay {}` delivers it again)",
            d.attempts,
            if d.attempts == 1 { "" } else { "s" },
            d.id
        ),
        "filtered" => "filtered: the payload does not match the handler's filter".to_owned(),
        other => other.to_owned(),
    }
}

fn show_attempt(a: &AttemptView) -> String {
    let outcome = match a.outcome.as_str() {
        "done" => "ok",
        "retry" => "failed, retried",
        "dead" => "failed, dead letter",
        "stopped" => "did not finish: the sandbox stopped during it",
        "running" => "running",
        other => other,
    };
    let mut out = format!(
        "{:>8}  {}  {:>8}  {outcome}\n",
        a.attempt,
        local_time(a.started, "%H:%M:%S%.3f"),
        a.duration_us.map_or_else(|| "-".to_owned(), duration_us),
    );
    if let Some(error) = &a.error {
        out.push_str(&format!("{:>10}error: {error}\n", ""));
    }
    // What the handler logged during it, as the live log shows it beneath the attempt's line.
    for line in a.log.iter().flat_map(|log| log.lines()) {
        out.push_str(&format!("{:>10}{line}\n", ""));
    }
    out
}

/// `ms` (since the Unix epoch) in the machine's time zone, as `format` (chrono's) says.
fn local_time(ms: u64, format: &str) -> String {
    use chrono::TimeZone as _;
    chrono::Local
        .timestamp_millis_opt(ms as i64)
        .single()
        .map_or_else(|| format!("{ms}ms"), |t| t.format(format).to_string())
}

/// `ms` in the time zone `zone` and in UTC: `2027-01-15 03:00:00 CET (Europe/Amsterdam),
/// 02:00:00 UTC`.
fn zoned_time(ms: u64, zone: &str) -> String {
    use chrono::TimeZone as _;
    let Some(utc) = chrono::Utc.timestamp_millis_opt(ms as i64).single() else {
        return format!("{ms}ms");
    };
    match eventfn_core::zone::parse_timezone(zone) {
        Ok(tz) => format!(
            "{} ({zone}), {}",
            utc.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z"),
            utc.format("%H:%M:%S UTC")
        ),
        Err(_) => utc.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

/// How long until `time`, at `now`: `in 5s`, `now`.
fn until(time: u64, now: u64) -> String {
    match time.saturating_sub(now) {
        0..1000 => "now".to_owned(),
        ms => format!("in {}", human_delay(ms)),
    }
}

/// How long ago `time` was, at `now`: `5s ago`, `1h 30m ago`, `now`.
pub(crate) fn age(time: u64, now: u64) -> String {
    match now.saturating_sub(time) {
        0..1000 => "now".to_owned(),
        ms => format!("{} ago", human_delay(ms)),
    }
}

/// JSON text laid out with two spaces per level, its keys in their order and its numbers as
/// written (parsed into a value, they would be sorted and rounded). `text` is JSON: the sandbox
/// stores nothing else.
fn pretty_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    // Empty: `{}` or `[]`.
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// `5m`, `1h 30m`, `2d 3h`: the two largest units.
pub(crate) fn human_delay(ms: u64) -> String {
    let seconds = ms.div_ceil(1000);
    let units = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let parts: Vec<String> = units
        .iter()
        .scan(seconds, |left, (unit, size)| {
            let n = *left / size;
            *left %= size;
            Some((n, unit))
        })
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        format!("{ms}ms")
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_in_their_two_largest_units() {
        assert_eq!(human_delay(300_000), "5m");
        assert_eq!(human_delay(5_400_000), "1h 30m");
        assert_eq!(human_delay(86_400_000 + 3 * 3_600_000 + 60_000), "1d 3h");
        assert_eq!(human_delay(1_500), "2s");
        assert_eq!(human_delay(0), "0ms");
    }

    #[test]
    fn a_sandbox_address_is_http() {
        let sandbox = Sandbox {
            sandbox: "127.0.0.1:4747".into(),
        };
        let error = sandbox.url("/v1/app").unwrap_err().to_string();
        assert!(error.contains("is not the address of a sandbox"), "{error}");
        let ok = Sandbox {
            sandbox: "http://127.0.0.1:4747/".into(),
        };
        assert_eq!(ok.url("/v1/app").unwrap(), "http://127.0.0.1:4747/v1/app");
    }

    fn delivery(id: i64, state: &str) -> DeliveryView {
        DeliveryView {
            id,
            event: 9,
            kind: Kind::Event,
            name: "broken".into(),
            handler: "app::broken".into(),
            state: state.into(),
            attempts: 2,
            time: 1_764_000_000_000,
            delay: 0,
            due: 1_764_000_000_000,
            duration: Some(1),
            duration_us: Some(1_234),
            error: Some("still broken".into()),
            body: Some(r#"{"user":"u1","n":[1,2.50]}"#.into()),
            size: 26,
            published_by: None,
            timezone: None,
        }
    }

    #[test]
    fn the_listing_shows_when_each_was_published_and_durations_as_the_log_does() {
        let now = 1_764_000_125_000;
        let mut pending = delivery(15, "pending");
        pending.due = now + 3_000;
        pending.error = None;
        pending.duration_us = None;
        pending.duration = None;
        let mut old = delivery(3, "done");
        (old.duration, old.duration_us, old.error) = (Some(7), None, None);
        let shown = show_list(&[pending, delivery(14, "dead"), old], now);
        let time = local_time(1_764_000_000_000, "%H:%M:%S");
        assert_eq!(
            shown,
            format!(
                "DELIVERY  PUBLISHED             STATE     ATTEMPTS  DURATION  WHAT\n\
                 \x20     15  {time}  2m 5s ago   pending          2         -  event `broken` (event 9) → app::broken (due in 3s)\n\
                 \x20     14  {time}  2m 5s ago   dead             2     1.2ms  event `broken` (event 9) → app::broken\n\
                 \x20         error: still broken\n\
                 \x20      3  {time}  2m 5s ago   done             2       7ms  event `broken` (event 9) → app::broken\n"
            )
        );
    }

    #[test]
    fn one_delivery_is_shown_in_full() {
        let now = 1_764_000_125_000;
        let mut child = delivery(16, "done");
        (child.event, child.name, child.handler) = (10, "check-email".into(), "app::check".into());
        let detail = DeliveryDetail {
            delivery: delivery(14, "dead"),
            attempts: vec![
                AttemptView {
                    attempt: 1,
                    started: 1_764_000_000_005,
                    duration_us: Some(420),
                    outcome: "retry".into(),
                    error: Some("boom".into()),
                    log: Some(" INFO sending n=1\n".into()),
                },
                AttemptView {
                    attempt: 2,
                    started: 1_764_000_000_105,
                    duration_us: None,
                    outcome: "stopped".into(),
                    error: None,
                    log: None,
                },
            ],
            earlier_attempts: 0,
            published: vec![child.clone(), DeliveryView { id: 17, ..child }],
            more_published: 3,
        };
        let full = |ms| local_time(ms, "%Y-%m-%d %H:%M:%S%.3f");
        let clock = |ms| local_time(ms, "%H:%M:%S%.3f");
        assert_eq!(
            show_detail(&detail, now),
            format!(
                "delivery 14 of event `broken` to app::broken: dead after 2 attempts \
                 (`cargo eventfn replay 14` delivers it again)\n\
                 \n\
                 event         9 (event `broken`)\n\
                 handler       app::broken\n\
                 published     {} (2m 5s ago)\n\
                 delay         none\n\
                 due           {}\n\
                 attempts      2\n\
                 payload       26 bytes\n\
                 \x20   {{\n\
                 \x20     \"user\": \"u1\",\n\
                 \x20     \"n\": [\n\
                 \x20       1,\n\
                 \x20       2.50\n\
                 \x20     ]\n\
                 \x20   }}\n\
                 \n\
                 attempts\n\
                 \x20      1  {}     420µs  failed, retried\n\
                 \x20         error: boom\n\
                 \x20          INFO sending n=1\n\
                 \x20      2  {}         -  did not finish: the sandbox stopped during it\n\
                 \n\
                 published 1 event, delivered as\n\
                 \x20     16  done      event `check-email` (event 10) → app::check\n\
                 \x20     17  done      event `check-email` (event 10) → app::check\n\
                 \x20   and 3 more deliveries\n",
                full(1_764_000_000_000),
                full(1_764_000_000_000),
                clock(1_764_000_000_005),
                clock(1_764_000_000_105),
            )
        );
        let mut retried = detail.clone();
        retried.delivery.state = "pending".into();
        retried.delivery.due = now + 4_000;
        let shown = show_detail(&retried, now);
        assert!(
            shown.starts_with("delivery 14 of event `broken` to app::broken: pending, due in 4s\n"),
            "{shown}"
        );
        assert!(
            shown.contains(&format!(
                "due           {}\nnext attempt  {} (in 4s)\n",
                full(1_764_000_000_000),
                full(now + 4_000)
            )),
            "{shown}"
        );
        let mut filtered = detail.clone();
        filtered.delivery.state = "filtered".into();
        filtered.delivery.published_by = Some(11);
        (filtered.attempts, filtered.published) = (vec![], vec![]);
        let shown = show_detail(&filtered, now);
        assert!(
            shown
                .contains("published by  the handler of delivery 11 (`cargo eventfn events 11`)\n"),
            "{shown}"
        );
        assert!(
            shown.contains("attempts\n    none: the payload does not match the handler's filter\n"),
            "{shown}"
        );
        assert!(!shown.contains("published 1 event"), "{shown}");

        // A schedule's firing says when it was due in its zone and in UTC.
        let mut fired = detail.clone();
        fired.delivery.kind = Kind::Schedule;
        fired.delivery.time = 1_799_978_400_000; // 2027-01-15T02:00:00Z
        fired.delivery.timezone = Some("Europe/Amsterdam".into());
        let shown = show_detail(&fired, now);
        assert!(
            shown.contains(
                "scheduled     2027-01-15 03:00:00 CET (Europe/Amsterdam), 02:00:00 UTC\n"
            ),
            "{shown}"
        );
    }

    #[test]
    fn payloads_are_laid_out_as_written() {
        assert_eq!(pretty_json("8"), "8");
        assert_eq!(pretty_json(r#" "a" "#), r#""a""#);
        assert_eq!(pretty_json("{}"), "{}");
        assert_eq!(pretty_json("[ ]"), "[]");
        assert_eq!(
            pretty_json(r#"{"z":1e400,"a":{"b":[]},"s":"x, {\"y\": [1]}\\"}"#),
            "{\n  \"z\": 1e400,\n  \"a\": {\n    \"b\": []\n  },\n  \"s\": \"x, {\\\"y\\\": [1]}\\\\\"\n}"
        );
    }

    #[test]
    fn ages_read_in_their_two_largest_units() {
        assert_eq!(age(10_000, 10_500), "now");
        assert_eq!(age(10_000, 9_000), "now");
        assert_eq!(age(0, 5_400_000), "1h 30m ago");
    }

    #[test]
    fn a_delivery_id_is_a_number() {
        assert_eq!(delivery_id(" 14 ", "x").unwrap(), 14);
        let error = delivery_id("m-1", "for a deployed stage, add --stage NAME")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "`m-1` is not a delivery id of the sandbox: those are numbers, as the DELIVERY column \
             of `cargo eventfn events` lists them (for a deployed stage, add --stage NAME)"
        );
    }
}
