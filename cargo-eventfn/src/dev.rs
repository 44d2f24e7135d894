//! `cargo eventfn dev`: build the app for this machine and run it as the local sandbox.
//!
//! The app's own binary is the sandbox (`eventfn::run()` serves it off Lambda), so after the
//! build this process becomes the app (`exec` on Unix): stopping or killing it stops the
//! sandbox, with nothing left behind but its store.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, anyhow, bail};
use eventfn_core::sandbox::DEFAULT_PORT;

use crate::AppSelection;
use crate::build::{app_dir, host_build, members, select_bin, select_package};
use crate::config::AppConfig;
use crate::shell::Shell;

/// The sandbox's settings, read by the runtime (`eventfn::sandbox`).
const PORT_ENV: &str = "EVENTFN_SANDBOX_PORT";
const DIR_ENV: &str = "EVENTFN_SANDBOX_DIR";
const TIMEOUT_ENV: &str = "EVENTFN_SANDBOX_TIMEOUT";
const RETRY_DELAY_ENV: &str = "EVENTFN_SANDBOX_RETRY_DELAY";
const TIMEZONE_ENV: &str = "EVENTFN_SANDBOX_TIMEZONE";

/// The store's files in its directory: the SQLite database and its write-ahead log.
const STORE_FILES: [&str; 3] = ["sandbox.db", "sandbox.db-wal", "sandbox.db-shm"];

#[derive(clap::Args, Debug, Clone)]
pub struct DevArgs {
    #[command(flatten)]
    pub app: AppSelection,

    /// Port of the sandbox's API on 127.0.0.1; 0 picks a free one (printed at start).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// Milliseconds before the first retry of a failed delivery; each next retry waits twice as
    /// long, at most five minutes.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub retry_delay: u64,

    /// Directory of the sandbox's store [default: <target-dir>/eventfn/<app>/sandbox].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// Start from an empty store: forget every event, pending delivery and dead letter. Stop a
    /// sandbox that is using the store first.
    #[arg(long)]
    pub reset: bool,
}

pub fn run(shell: &Shell, args: &DevArgs) -> Result<()> {
    let metadata = members(&args.app)?;
    let package = select_package(&metadata, &args.app)?;
    let bin = select_bin(package, &args.app)?;
    let config = AppConfig::from_package(package)?;
    let profile = if args.app.release { "release" } else { "debug" };
    shell.status(
        "Building",
        format!(
            "app `{}` (package `{}`, binary `{}`) for this machine, {profile} profile",
            config.app, package.name, bin.name
        ),
    );
    // Run from a link of its own: a build of the app with other features (`cargo build`, or
    // `cargo eventfn build`) replaces the binary at cargo's path.
    let app_dir = app_dir(&metadata, &config.app);
    let executable =
        app_dir
            .join("dev")
            .join(format!("{}{}", bin.name, std::env::consts::EXE_SUFFIX));
    host_build(shell, &args.app, package, bin, &executable)?;
    let dir = args
        .store
        .clone()
        .unwrap_or_else(|| app_dir.join("sandbox"));
    if args.reset {
        // The store's own files only: `--store` may name a directory that holds other things.
        let mut removed = false;
        for file in STORE_FILES {
            let path = dir.join(file);
            match std::fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => bail!("cannot remove {}: {e}", path.display()),
            }
        }
        if removed {
            shell.status(
                "Removed",
                format!("the sandbox's store in {}", dir.display()),
            );
        }
    }
    shell.status("Running", format!("app `{}` in the sandbox", config.app));

    let mut command = Command::new(&executable);
    command
        .env(PORT_ENV, args.port.to_string())
        .env(DIR_ENV, &dir)
        .env(TIMEOUT_ENV, config.defaults.timeout.to_string())
        .env(RETRY_DELAY_ENV, args.retry_delay.to_string())
        .env_remove(TIMEZONE_ENV)
        // Off Lambda, whatever the shell had.
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("EVENTFN_DESCRIBE");
    if let Some(zone) = &config.defaults.timezone {
        command.env(TIMEZONE_ENV, zone);
    }
    if let Some(color) = shell.color.cargo_arg() {
        command.env("CARGO_TERM_COLOR", color);
    }
    exec(command, &executable)
}

#[cfg(unix)]
fn exec(mut command: Command, executable: &std::path::Path) -> Result<()> {
    use std::os::unix::process::CommandExt as _;
    let error = command.exec();
    Err(anyhow!("cannot run `{}`: {error}", executable.display()))
}

#[cfg(not(unix))]
fn exec(mut command: Command, executable: &std::path::Path) -> Result<()> {
    use anyhow::Context as _;
    let status = command
        .status()
        .with_context(|| format!("cannot run `{}`", executable.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(anyhow!("the sandbox stopped: {status}"))
    }
}
