//! `cargo eventfn publish`, `trigger`, `events` and `replay`: requests to a running sandbox's API
//! (`eventfn_core::sandbox`), found at `--sandbox`, `EVENTFN_SANDBOX` or the default port.

use std::io::Read as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use eventfn_core::sandbox::{
    ApiError, Deliveries, DeliveryView, OutgoingMessage, PublishRequest, Published, ReplayRequest,
    SANDBOX_ENV, TriggerRequest,
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
    /// The event (or with --queue, the queue) to send to.
    pub name: String,

    /// The payload as JSON, like '{"user_id": "u1"}'; `-` reads it from stdin.
    pub json: String,

    /// Deliver no sooner than this: milliseconds, a Unix timestamp in milliseconds, an RFC 3339
    /// UTC time, or a count and unit like "5 minutes" or "1 day" (at most a year ahead).
    #[arg(long, value_name = "WHEN")]
    pub after: Option<String>,

    /// Send to the queue NAME instead of publishing event NAME.
    #[arg(long)]
    pub queue: bool,

    #[command(flatten)]
    pub sandbox: Sandbox,
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
    /// The dead letter's id, as `cargo eventfn events --dead` lists it (with --stage, as
    /// `events --stage NAME --dead` does).
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

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
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
            bail!("the sandbox refused it ({status}): {why}");
        }
        serde_json::from_str(&text).with_context(|| {
            format!(
                "the sandbox's answer to {} is not what was expected",
                redact::url(&url)
            )
        })
    }
}

pub fn publish(shell: &Shell, args: &PublishArgs) -> Result<()> {
    let kind = if args.queue { Kind::Queue } else { Kind::Event };
    let what = kind.as_str();
    let name = &args.name;
    validate_name(name).map_err(|e| anyhow!("invalid {what} name: {e}"))?;
    let body = if args.json == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the payload from stdin")?;
        text
    } else {
        args.json.clone()
    };
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
    let request = PublishRequest {
        messages: vec![OutgoingMessage {
            kind,
            name: name.clone(),
            body,
            time: Some(time),
            delay,
        }],
    };
    let published: Published = args.sandbox.call("/v1/publish", Some(&request))?;
    let when = if delay > 0 {
        format!(", delivered after {}", human_delay(delay))
    } else {
        String::new()
    };
    shell.status(
        if args.queue { "Enqueued" } else { "Published" },
        format!(
            "{}`{name}` (event {}){when}",
            if args.queue { "to queue " } else { "event " },
            published.events.first().copied().unwrap_or_default()
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
        Some(id) => vec![id.parse().map_err(|_| {
            anyhow!(
                "`{id}` is not a delivery id of the sandbox: those are numbers, as `cargo eventfn \
                 events --dead` lists them (for a deployed stage, add --stage NAME)"
            )
        })?],
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

fn replay_one(shell: &Shell, sandbox: &Sandbox, id: i64) -> Result<()> {
    let delivery: DeliveryView = sandbox.call("/v1/replay", Some(&ReplayRequest { id }))?;
    shell.status(
        "Replaying",
        format!(
            "delivery {} of {} `{}` to `{}`",
            delivery.id,
            delivery.kind.as_str(),
            delivery.name,
            delivery.handler
        ),
    );
    Ok(())
}

pub fn events(args: &EventsArgs) -> Result<()> {
    if let Some(stage) = &args.stage.stage {
        return crate::dead::events(
            &args.stage,
            stage,
            args.dead,
            args.limit,
            args.message_format,
        );
    }
    args.stage.without_stage()?;
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
    let now = now_ms();
    println!(
        "{:>8}  {:<8}  {:>8}  {:>8}  WHAT",
        "ID", "STATE", "ATTEMPTS", "DURATION"
    );
    for d in &listed.deliveries {
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
        println!(
            "{:>8}  {:<8}  {:>8}  {:>8}  {} `{}` (event {}) → {}{due}{filtered}",
            d.id,
            d.state,
            d.attempts,
            d.duration
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms}ms")),
            d.kind.as_str(),
            d.name,
            d.event,
            d.handler
        );
        if let Some(error) = &d.error {
            println!("{:>10}error: {error}", "");
        }
    }
    Ok(())
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
}
