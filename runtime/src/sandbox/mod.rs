//! The local sandbox: events, queues, schedules, delays, retries and dead letters, offline and
//! durable across a restart. `cargo eventfn dev` builds the app for this machine and runs it;
//! [`crate::run`] then serves the sandbox when the process is not on AWS Lambda.
//!
//! - Every publish — from a handler, from `cargo eventfn publish`, or from another local process
//!   that has `EVENTFN_SANDBOX` set — is stored before it is acknowledged, with one delivery per
//!   subscriber ([`store`]).
//! - Deliveries run as on Lambda: the handler's timeout, retries with backoff, a dead letter
//!   when they are spent, queues in batches of `batch_size`, schedules on their `rate`, `cron`
//!   or `at` in their time zone ([`clock`], [`engine`]).
//! - The HTTP API on 127.0.0.1 ([`http`]) is what `cargo eventfn publish`, `trigger`,
//!   `events`, `replay` and `purge` talk to, and what its dashboard (`GET /`, files built into
//!   the binary from `sandbox/dashboard/`) reads, live through `GET /v1/stream`.
//! - The live log on stdout has a line per attempt ([`log`]).
//!
//! It reads its settings from the environment, which `cargo eventfn dev` sets:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `EVENTFN_SANDBOX_PORT` | the port on 127.0.0.1; 0 for any free one | 4747 |
//! | `EVENTFN_SANDBOX_DIR` | where the store lives | `<target>/eventfn/<binary>/sandbox` |
//! | `EVENTFN_SANDBOX_TIMEOUT` | seconds, for handlers without a `timeout` | 5 |
//! | `EVENTFN_SANDBOX_RETRY_DELAY` | milliseconds before the first retry; doubled for each next one | 1000 |
//! | `EVENTFN_SANDBOX_TIMEZONE` | the IANA time zone of schedules without a `timezone` | UTC |

pub mod clock;
pub mod engine;
pub mod http;
pub mod journal;
pub mod log;
pub mod store;

use std::path::PathBuf;

use eventfn_core::options::Defaults;
use eventfn_core::sandbox::DEFAULT_PORT;

use crate::Result;
use crate::error::message;
use crate::registry::Entry;

/// The environment variable with the port the sandbox listens on, on 127.0.0.1: 0 for any free
/// one, [`DEFAULT_PORT`] when not set.
pub const PORT_ENV: &str = "EVENTFN_SANDBOX_PORT";
/// The environment variable with the directory of the sandbox's store.
pub const DIR_ENV: &str = "EVENTFN_SANDBOX_DIR";
/// The environment variable with the timeout, in seconds, of handlers that set none: 5 when not
/// set.
pub const TIMEOUT_ENV: &str = "EVENTFN_SANDBOX_TIMEOUT";
/// The environment variable with the wait before a first retry, in milliseconds, doubled for
/// each next one: 1000 when not set.
pub const RETRY_DELAY_ENV: &str = "EVENTFN_SANDBOX_RETRY_DELAY";

/// The environment variable with the time zone of schedules that set none (the app's
/// `timezone`): UTC when not set.
pub const TIMEZONE_ENV: &str = "EVENTFN_SANDBOX_TIMEZONE";

/// The store's file name in the sandbox's directory.
pub const STORE_FILE: &str = "sandbox.db";

fn number<T: std::str::FromStr>(var: &str, what: &str) -> Result<Option<T>> {
    match std::env::var(var) {
        Err(_) => Ok(None),
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| message(format!("{var}=`{text}` is not {what}"))),
    }
}

/// The sandbox's directory when `EVENTFN_SANDBOX_DIR` is not set: beside the build's output,
/// `<target>/eventfn/<binary>/sandbox` for a binary at `<target>/<profile>/<binary>` (where
/// `cargo eventfn dev` puts it for an app named like its binary).
fn default_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| {
        message(format!(
            "cannot tell where this binary is ({e}); set {DIR_ENV}"
        ))
    })?;
    let name = exe
        .file_stem()
        .map_or_else(|| "app".into(), |s| s.to_string_lossy().into_owned());
    let target = exe
        .parent()
        .and_then(|profile| profile.parent())
        .ok_or_else(|| {
            message(format!(
                "cannot place the sandbox's store beside {}; set {DIR_ENV}",
                exe.display()
            ))
        })?;
    Ok(target.join("eventfn").join(name).join("sandbox"))
}

/// Serves the sandbox until the process is stopped.
pub(crate) async fn serve(entries: &'static [Entry]) -> Result<()> {
    let port: u16 = number(PORT_ENV, "a port number (0 to 65535)")?.unwrap_or(DEFAULT_PORT);
    let dir = match std::env::var_os(DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => default_dir()?,
    };
    let mut defaults = Defaults::default();
    if let Some(timeout) = number::<u32>(TIMEOUT_ENV, "a number of seconds from 1 to 900")? {
        defaults.timeout = eventfn_core::options::parse_timeout(&format!("{timeout}s"))
            .map_err(|e| message(format!("{TIMEOUT_ENV}: {e}")))?;
    }
    if let Ok(zone) = std::env::var(TIMEZONE_ENV) {
        eventfn_core::zone::parse_timezone(&zone)
            .map_err(|e| message(format!("{TIMEZONE_ENV}: {e}")))?;
        defaults.timezone = Some(zone);
    }
    let retry_delay_ms: u64 = number(RETRY_DELAY_ENV, "a number of milliseconds")?.unwrap_or(1000);
    let store = dir.join(STORE_FILE);

    let log = log::Log::from_env();
    log.install_tracing();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            message(format!(
                "the sandbox cannot listen on 127.0.0.1:{port}: {e}{}",
                if e.kind() == std::io::ErrorKind::AddrInUse {
                    "; another sandbox may be running there: stop it, or choose another port with \
                     `cargo eventfn dev --port N`"
                } else {
                    ""
                }
            ))
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| message(format!("the sandbox's socket has no address: {e}")))?;
    let settings = engine::Settings {
        store: store.clone(),
        defaults,
        retry_delay_ms,
    };
    let handlers: Vec<_> = entries
        .iter()
        .map(|e| e.registration.resolve(&settings.defaults))
        .collect();
    for unfit in eventfn_core::manifest::unfit_retry_windows(&handlers) {
        // It runs here; `cargo eventfn build` refuses it.
        eprintln!("warning: {unfit}; `cargo eventfn build` refuses it");
    }
    let registrations: Vec<_> = entries.iter().map(|e| e.registration.clone()).collect();
    for unknown in eventfn_core::record::unknown_sends(&registrations) {
        // As `cargo eventfn build` warns of it.
        eprintln!("warning: {unknown}");
    }
    let (engine, resumed) = engine::Engine::start(entries, settings, log)
        .await
        .map_err(message)?;
    crate::publish::connect(Box::new(engine::LocalBus(engine.clone())))?;
    engine.start_schedules().map_err(message)?;

    let count = entries.len();
    log.status(
        "Sandbox",
        &format!(
            "{count} handler{} (store {})",
            if count == 1 { "" } else { "s" },
            store.display()
        ),
    );
    for entry in entries {
        let r = &entry.registration;
        let on = match (&r.schedule, &r.bus) {
            (Some(schedule), _) => schedule.clone(),
            (None, Some(bus)) => format!("{} on bus {bus}", r.name),
            (None, None) => r.name.clone(),
        };
        log.status("", &format!("{} {on} → {}", r.kind.as_str(), r.function));
    }
    if resumed > 0 {
        log.status(
            "Resuming",
            &format!(
                "{resumed} pending deliver{} from the store",
                if resumed == 1 { "y" } else { "ies" }
            ),
        );
    }
    let url = eventfn_core::sandbox::address(address.port());
    log.status(
        "Listening",
        &format!(
            "on {url}; other processes publish here with {}={url}",
            eventfn_core::sandbox::SANDBOX_ENV
        ),
    );
    log.status("Dashboard", &format!("{url}/"));
    // Only now: a resumed delivery whose handler aborts the process must not take it down before
    // the developer has been told where it listens and what it resumed.
    engine.deliver();
    let info = http::app_info(&engine, &store);
    http::serve(engine, listener, info, http::Limits::default()).await;
    Ok(())
}
