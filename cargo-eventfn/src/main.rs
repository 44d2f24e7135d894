//! `cargo eventfn`: build, deploy and run eventfn apps.
//!
//! Installed as `cargo-eventfn`, cargo runs it for `cargo eventfn ...`. Exit codes: 0 on success,
//! 1 when the command failed (the message says why and what to do), 2 on a usage error, 101 when
//! the cargo build it ran failed (as cargo itself exits).

mod arc;
mod artifact;
mod aws;
mod build;
mod config;
mod dead;
mod deploy;
mod dev;
mod invoke;
mod logs;
mod preflight;
mod publish;
mod redact;
mod sandbox;
mod shell;
mod stack;
mod status;
mod template;
mod toolchain;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::shell::{ColorChoice, Shell};

#[derive(Parser)]
#[command(name = "cargo", bin_name = "cargo", version, styles = clap_cargo_styles())]
enum Cargo {
    /// Build, deploy and run eventfn apps: background functions on AWS.
    #[command(name = "eventfn", version)]
    Eventfn(Eventfn),
}

#[derive(Args)]
struct Eventfn {
    #[command(subcommand)]
    command: Command,

    /// Use verbose output.
    #[arg(short, long, global = true)]
    verbose: bool,

    /// Print nothing but errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Coloring: auto, always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Build the app for Lambda and write its manifest, Architect manifest, CloudFormation
    /// template and artifact.
    ///
    /// Writes <target-dir>/eventfn/<app>/: `eventfn.json` (every handler with its kind, name,
    /// function, payload type, options and source location), `app.arc` (Architect format),
    /// `template.json` (CloudFormation: per handler a function, role, log group and queue with
    /// its dead-letter queue; per event an SNS topic; per queue an SQS queue; per schedule an
    /// EventBridge rule; for delayed publishes a delay queue with its function, a schedule group
    /// and the scheduler's role), `bootstrap` (the Lambda executable) and `bootstrap.zip` (the
    /// `provided.al2023` artifact). The handlers are read from the built binary, never by
    /// running it.
    ///
    /// The artifact links the AWS SDK clients the app needs and no others: SQS and SSM always,
    /// SNS with an `#[event]` handler, EventBridge when the code calls `put_event`, EventBridge
    /// Scheduler when it calls `.after(...)`, read from the binary; when the last build's
    /// clients were not those, it builds again with them.
    Build(BuildArgs),

    /// Deploy a stage of the app to AWS: build it, upload its artifact and create or update its
    /// CloudFormation stack.
    ///
    /// The stack is named `<App><Stage>` (`WelcomeStaging`). The artifact goes to the
    /// account's deployment bucket `eventfn-deploy-<account>-<region>` (created when missing)
    /// under its SHA-256; the stack changes through a change set, whose events are shown as they
    /// happen. A deploy with nothing changed changes nothing. Names the change set would create
    /// that exist outside the stack (a log group Lambda made, a parameter left behind) stop the
    /// deploy before any change. At the end, the stage's topics, queues and functions are
    /// listed. A failure names each failed resource and its reason and exits with 1.
    Deploy(deploy::DeployArgs),

    /// Delete a deployed stage: its stack, with every function, topic, queue and dead letter.
    ///
    /// The artifacts stay in the deployment bucket, which other stages and apps share.
    Destroy(deploy::DestroyArgs),

    /// Build the app for this machine and run it in the local sandbox.
    ///
    /// Events, queues, schedules, delays, retries and dead letters run as on AWS, offline. Every
    /// publish is stored (in <target-dir>/eventfn/<app>/sandbox/) before it is acknowledged, so
    /// a restart, even after a kill, loses nothing; the store keeps earlier runs too, until
    /// --reset. Each delivery attempt is logged with its handler, event, delivery, attempt,
    /// duration and outcome. The sandbox's API listens on 127.0.0.1 only; other local processes
    /// publish into it with EVENTFN_SANDBOX set to the address it prints, and a browser opened
    /// at that address shows its dashboard: deliveries as they happen, each in full, the app's
    /// handlers, publish forms, and its dead letters to replay or purge.
    Dev(dev::DevArgs),

    /// Publish an event (or enqueue a job) into the running sandbox, and print its event id; with
    /// --stage NAME, into that deployed stage.
    ///
    /// Each handler of the event gets a delivery of it, with an id of its own: `cargo eventfn
    /// events` lists them. Into a stage, it goes as a handler of that stage publishes: the topic,
    /// queue or bus found through the stack's SSM parameters, the payload sent as written.
    Publish(sandbox::PublishArgs),

    /// Fire a schedule of the running sandbox now.
    Trigger(sandbox::TriggerArgs),

    /// List the running sandbox's recent deliveries, or show one in full; with --stage NAME
    /// --dead, list the dead letters of a deployed stage.
    ///
    /// A delivery is an event's delivery to one of its handlers. The list has, newest first,
    /// each delivery's id, when its event was published (local time, and how long ago), its
    /// state, attempts, last duration, event and handler, and the error of its last attempt. A
    /// delivery is pending (due, or waiting for a retry), done, dead (every attempt failed),
    /// or filtered: its payload does not match the handler's `filter`, so it never ran, as on
    /// AWS, where the handler's subscription drops it. `events ID` shows one delivery: its
    /// payload, its event (id, name, publish time, delay, due), every attempt with its start,
    /// duration and error, and the deliveries of what its handler published. With
    /// --message-format json, the sandbox's answer, payloads included.
    ///
    /// A deployed stage's dead letters are listed from every dead-letter queue of its stack:
    /// id, attempts, age, event and handler, and why the last attempt failed (recorded by the
    /// function; a message the queue's redrive moved, because its function was stopped, has no
    /// error). Each message is received to be read and made visible again at once.
    Events(sandbox::EventsArgs),

    /// Deliver a dead letter again, with its attempts counted anew: of the running sandbox, or
    /// with --stage NAME of a deployed stage, sent back to its handler's own queue (not to the
    /// topic, so the event's other subscribers do not run again) and deleted once SQS took it.
    Replay(sandbox::ReplayArgs),

    /// Drop dead letters for good, with their attempts: the running sandbox's (`purge --dead
    /// --yes`), or with --stage NAME a deployed stage's. Without --yes it says how many there are
    /// and drops none.
    Purge(dead::PurgeArgs),

    /// Show what a deployed stage's handlers did (`logs --stage NAME [HANDLER...]`): each
    /// attempt as the sandbox's live log shows it, with what the handler printed beneath it.
    ///
    /// Read from the functions' CloudWatch log groups, where the runtime writes one JSON line per
    /// attempt (time, event, handler, message id, attempt, duration, outcome, error); the lines
    /// the handler printed during the attempt are shown beneath it, and Lambda's own (START,
    /// END, REPORT) are left out. Oldest first, from --since on.
    Logs(logs::LogsArgs),

    /// Show what a deployed stage has and how it is doing (`status --stage NAME`).
    ///
    /// The stack's state and last update, then a line per handler: its function and trigger,
    /// its last attempt and its attempts and failed attempts over the last hour (counted from the
    /// attempt lines the runtime writes to the functions' logs), and its dead letters now.
    Status(status::StatusArgs),

    /// Call one handler of a deployed stage now (`invoke --stage NAME HANDLER [JSON]`), with the
    /// event its trigger would hand it, and show what came of it.
    ///
    /// The event is what the handler's queue would pass its function: one SQS record holding the
    /// payload with the attributes a publish sets (an event's or a queue's handler), the
    /// EventBridge Scheduler event (a schedule's, which takes no JSON) or the EventBridge event
    /// with the JSON as its detail (a rule's, with --detail-type and --source). The function is
    /// called synchronously; its attempt line and what the handler printed are shown from the
    /// log tail Lambda returns. It exits with 1 when the handler failed: a failure that retrying
    /// cannot mend goes to the handler's dead letters, as a delivery's would; one that could be
    /// retried is not (an invoke's message is on no queue).
    Invoke(invoke::InvokeArgs),
}

/// Which app to build, and how: shared by `build`, `deploy` and `dev`.
#[derive(Args, Debug, Clone, Default)]
pub struct AppSelection {
    /// Build with the release profile.
    #[arg(short, long)]
    pub release: bool,

    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Package of the app.
    #[arg(short, long, value_name = "SPEC")]
    pub package: Option<String>,

    /// Binary of the package, when it has several.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,

    /// Cargo features of the app to turn on (comma-separated, or the option repeated).
    #[arg(short = 'F', long, value_name = "FEATURES", value_delimiter = ',')]
    pub features: Vec<String>,

    /// Turn on every feature of the app.
    #[arg(long)]
    pub all_features: bool,

    /// Leave the app's default features off.
    #[arg(long)]
    pub no_default_features: bool,
}

/// Which app, without building it: shared by `destroy` and the commands on a deployed stage.
#[derive(Args, Debug, Clone, Default)]
pub struct PackageSelection {
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Package of the app.
    #[arg(short, long, value_name = "SPEC")]
    pub package: Option<String>,
}

impl PackageSelection {
    /// The app's settings (name, region), read from its Cargo.toml.
    pub fn config(&self) -> anyhow::Result<config::AppConfig> {
        build::app_config(&AppSelection {
            manifest_path: self.manifest_path.clone(),
            package: self.package.clone(),
            ..AppSelection::default()
        })
    }
}

#[derive(Args, Debug, Clone)]
pub struct BuildArgs {
    #[command(flatten)]
    pub app: AppSelection,

    #[command(flatten)]
    pub lambda: LambdaBuild,

    /// Output format on stdout: `human` prints nothing there; `json` prints a summary of what
    /// was written.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, value_name = "FMT")]
    pub message_format: MessageFormat,
}

/// How the Lambda executable is built: shared by `build` and `deploy`.
#[derive(Args, Debug, Clone)]
pub struct LambdaBuild {
    /// Build for arm64 (Graviton) Lambda functions instead of x86_64.
    #[arg(long)]
    pub arm64: bool,

    /// Link the bootstrap as a position-independent executable. By default it is linked
    /// position-dependent, which spares the loader some 33,000 relocations of a bootstrap with
    /// the AWS SDK at every cold start (about 0.35 ms measured), at the cost of address
    /// randomization of the executable's own image.
    #[arg(long)]
    pub pie: bool,

    /// Cross-compile through cargo-zigbuild and zig, with the glibc pinned (`pip3 install ziglang
    /// cargo-zigbuild`). Without `--zig` or `--no-zig`, zig is used when this host cannot build
    /// a binary Lambda runs (not Linux, another architecture, or a glibc newer than `--glibc`)
    /// and it is installed.
    #[arg(long, conflicts_with = "no_zig")]
    pub zig: bool,

    /// Build with cargo and the host's toolchain only, never through zig.
    #[arg(long)]
    pub no_zig: bool,

    /// The newest glibc the bootstrap may need: zig links against it, and the built bootstrap
    /// is checked against it. From 2.17 up to 2.34, the glibc of Lambda's provided.al2023.
    #[arg(long, value_name = "VERSION", default_value_t = toolchain::LAMBDA_GLIBC)]
    pub glibc: toolchain::Glibc,
}

impl LambdaBuild {
    pub fn zig_choice(&self) -> toolchain::ZigChoice {
        match (self.zig, self.no_zig) {
            (true, _) => toolchain::ZigChoice::Always,
            (_, true) => toolchain::ZigChoice::Never,
            _ => toolchain::ZigChoice::Auto,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

fn clap_cargo_styles() -> clap::builder::Styles {
    use anstyle::{AnsiColor, Style};
    clap::builder::Styles::styled()
        .header(AnsiColor::Green.on_default().bold())
        .usage(AnsiColor::Green.on_default().bold())
        .literal(AnsiColor::Cyan.on_default().bold())
        .placeholder(AnsiColor::Cyan.on_default())
        .error(AnsiColor::Red.on_default().bold())
        .valid(Style::new().bold())
        .invalid(AnsiColor::Yellow.on_default().bold())
}

/// The environment variables that options read (`env = ...`), of every subcommand.
fn option_env_vars(command: &clap::Command) -> Vec<std::ffi::OsString> {
    let mut names: Vec<std::ffi::OsString> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(|name| name.to_owned()))
        .collect();
    for subcommand in command.get_subcommands() {
        names.extend(option_env_vars(subcommand));
    }
    names
}

fn main() -> ExitCode {
    // An endpoint's user name and password (`http://user:secret@host`), from an argument or from
    // the environment, never appear in what this command prints, whoever wrote the message.
    // The AWS SDK also reads an endpoint per service (`AWS_ENDPOINT_URL_SQS`, ...) by itself.
    let sdk_endpoints = std::env::vars()
        .filter(|(name, _)| name.starts_with("AWS_ENDPOINT_URL_"))
        .map(|(_, value)| value);
    let env_values = option_env_vars(&Cargo::command())
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .chain(sdk_endpoints);
    redact::hide_userinfo_of(std::env::args().chain(env_values));
    let Cargo::Eventfn(args) = Cargo::parse();
    args.color.apply();
    let shell = Shell {
        quiet: args.quiet,
        verbose: args.verbose,
        color: args.color,
    };
    let result = match args.command {
        Command::Build(build) => build::run(&shell, &build).map(drop),
        Command::Deploy(deploy) => deploy::run(&shell, &deploy),
        Command::Destroy(destroy) => deploy::destroy(&shell, &destroy),
        Command::Dev(dev) => dev::run(&shell, &dev),
        Command::Publish(publish) => sandbox::publish(&shell, &publish),
        Command::Trigger(trigger) => sandbox::trigger(&shell, &trigger),
        Command::Events(events) => sandbox::events(&events),
        Command::Replay(replay) => sandbox::replay(&shell, &replay),
        Command::Purge(purge) => dead::purge(&shell, &purge),
        Command::Logs(args) => logs::logs(&shell, &args),
        Command::Status(args) => status::status(&shell, &args),
        Command::Invoke(args) => invoke::invoke(&shell, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if err.downcast_ref::<build::CargoFailed>().is_some() {
                shell::error(&err);
                return ExitCode::from(101);
            }
            shell::error(&err);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without --yes, destroy says so before it reads the app or asks AWS anything: here neither
    /// the manifest nor the endpoint exists.
    #[test]
    fn destroy_asks_for_yes_first() {
        let Cargo::Eventfn(args) = Cargo::try_parse_from([
            "cargo",
            "eventfn",
            "destroy",
            "--stage",
            "staging",
            "--manifest-path",
            "/nowhere/Cargo.toml",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ])
        .unwrap();
        let Command::Destroy(destroy) = args.command else {
            panic!("parsed as destroy")
        };
        let error = deploy::destroy(&Shell::default(), &destroy)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "destroying stage `staging` deletes its stack, with every function, topic and queue, \
             and every message and dead letter waiting in its queues: pass --yes to go ahead"
        );
    }

    /// clap shows `[env: NAME=value]` in `--help`; a value may hold a password.
    #[test]
    fn help_never_shows_what_an_environment_variable_holds() {
        fn check(command: &clap::Command, found: &mut Vec<String>) {
            for arg in command.get_arguments() {
                if let Some(name) = arg.get_env() {
                    assert!(
                        arg.is_hide_env_values_set(),
                        "`{} --{}` shows the value of {}: add `hide_env_values = true`",
                        command.get_name(),
                        arg.get_id(),
                        name.to_string_lossy()
                    );
                    found.push(name.to_string_lossy().into_owned());
                }
            }
            for subcommand in command.get_subcommands() {
                check(subcommand, found);
            }
        }
        let mut found = Vec::new();
        check(&Cargo::command(), &mut found);
        assert!(found.contains(&"AWS_ENDPOINT_URL".to_owned()), "{found:?}");
        assert!(found.contains(&"EVENTFN_SANDBOX".to_owned()), "{found:?}");
        assert!(option_env_vars(&Cargo::command()).contains(&"AWS_ENDPOINT_URL".into()));
    }
}
