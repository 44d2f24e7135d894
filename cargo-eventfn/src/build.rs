//! `cargo eventfn build`: compile the app, read its registrations from the binary, check them,
//! and write `eventfn.json`, `app.arc`, `bootstrap` and `bootstrap.zip`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, anyhow, bail};
use cargo_metadata::{
    DependencyKind, Message, Metadata, MetadataCommand, Package, PackageId, Target, TargetKind,
};
use eventfn_core::manifest::{Architecture, BuildInfo, MANIFEST_VERSION};
use eventfn_core::record::conflicts;
use eventfn_core::{Client, Kind, Manifest, Registration};
use object::Object as _;
use serde::Serialize;

use crate::artifact::{self, LibRecords, records_in_object, records_in_rlib, required_glibc};
use crate::config::AppConfig;
use crate::shell::Shell;
use crate::toolchain::{self, Glibc, Toolchain};
use crate::{AppSelection, BuildArgs, MessageFormat, arc, template};

/// The cargo build failed; cargo has already printed why.
#[derive(Debug)]
pub struct CargoFailed;

impl fmt::Display for CargoFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not build the app: cargo's errors are above")
    }
}

impl std::error::Error for CargoFailed {}

/// What a build wrote.
#[derive(Debug, Serialize)]
pub struct Built {
    pub reason: &'static str,
    pub app: String,
    pub package: String,
    pub binary: String,
    pub profile: &'static str,
    pub architecture: Architecture,
    /// How the bootstrap was built, as `eventfn.json` records it.
    pub build: BuildInfo,
    pub dir: PathBuf,
    pub files: Files,
    pub handlers: Counts,
    /// What was written to `files`, as this build made it: another build of the app may have
    /// written them again since.
    #[serde(skip)]
    pub outputs: Outputs,
}

/// A build's outputs, in memory.
#[derive(Debug)]
pub struct Outputs {
    pub manifest: Manifest,
    pub templates: template::Templates,
    /// The stripped bootstrap's size.
    pub bootstrap_len: u64,
    pub zip: Vec<u8>,
}

#[derive(Debug, Serialize)]
pub struct Files {
    pub manifest: PathBuf,
    pub arc: PathBuf,
    /// The stage's stack.
    pub template: PathBuf,
    /// The nested stacks of its handlers, `stacks/Handlers00.json` ... (see [`template::group`]).
    pub stacks: Vec<PathBuf>,
    pub bootstrap: PathBuf,
    pub zip: PathBuf,
    /// The bootstrap as built, with its debug info and symbols.
    pub debug: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct Counts {
    pub events: usize,
    pub queues: usize,
    pub schedules: usize,
    pub rules: usize,
    pub handlers: usize,
}

/// The cargo workspace of `--manifest-path`, or of the current directory, with every package
/// of its dependency graph: what the Lambda build needs to tell which crates link eventfn.
pub(crate) fn workspace(app: &AppSelection) -> Result<Metadata> {
    metadata(app, false)
}

/// The workspace's own packages only (`cargo metadata --no-deps`, several times faster than
/// resolving the whole graph): the app's package, binaries, settings and its dependency on
/// eventfn, which is what `dev` and reading the settings need.
pub(crate) fn members(app: &AppSelection) -> Result<Metadata> {
    metadata(app, true)
}

fn metadata(app: &AppSelection, no_deps: bool) -> Result<Metadata> {
    let mut command = MetadataCommand::new();
    if no_deps {
        command.no_deps();
    }
    if let Some(path) = &app.manifest_path {
        if !path.is_file() {
            bail!(
                "manifest path `{}` does not exist: pass the path of a Cargo.toml",
                path.display()
            );
        }
        command.manifest_path(path);
    }
    command
        .exec()
        .context("could not read the cargo workspace (`cargo metadata` failed)")
}

/// `-p PACKAGE --bin BIN [--release] [--features ...]`: what cargo builds for the app, with
/// `runtime_features` of eventfn turned on as well: for Lambda `aws-base` and the SDK clients the
/// app needs ([`lambda_features`]), `sandbox` for `cargo eventfn dev`. eventfn has no default
/// features, so that the app's dev and test builds compile no AWS SDK, a build of minutes.
fn package_args(
    app: &AppSelection,
    package: &Package,
    bin: &Target,
    runtime_features: &[&str],
) -> Vec<String> {
    let mut features = app.features.clone();
    if let Some((dep, optional)) = runtime_dependency(package) {
        // `dep?/feature` turns the feature on only if the app turns its optional dependency on.
        let weak = if optional { "?" } else { "" };
        features.extend(
            runtime_features
                .iter()
                .map(|feature| format!("{dep}{weak}/{feature}")),
        );
    }
    let mut args = vec![
        "-p".to_owned(),
        package.name.to_string(),
        "--bin".to_owned(),
        bin.name.clone(),
    ];
    if app.release {
        args.push("--release".to_owned());
    }
    if !features.is_empty() {
        args.push("--features".to_owned());
        args.push(features.join(","));
    }
    if app.all_features {
        args.push("--all-features".to_owned());
    }
    if app.no_default_features {
        args.push("--no-default-features".to_owned());
    }
    args
}

/// The name under which `package` depends on eventfn (its `rename`, if any) and whether that
/// dependency is optional, if it does directly. An app that reaches eventfn only through another
/// crate of its own turns its features on there.
fn runtime_dependency(package: &Package) -> Option<(&str, bool)> {
    package
        .dependencies
        .iter()
        .find(|dep| dep.name == "eventfn" && dep.kind == DependencyKind::Normal)
        .map(|dep| (dep.rename.as_deref().unwrap_or("eventfn"), dep.optional))
}

/// The app's `[package.metadata.eventfn]` settings, read without building it.
pub(crate) fn app_config(app: &AppSelection) -> Result<AppConfig> {
    let metadata = members(app)?;
    let package = select_package(&metadata, app)?;
    AppConfig::from_package(package)
}

pub fn run(shell: &Shell, args: &BuildArgs) -> Result<Built> {
    let metadata = workspace(&args.app)?;
    let package = select_package(&metadata, &args.app)?;
    let bin = select_bin(package, &args.app)?;
    let config = AppConfig::from_package(package)?;
    let architecture = if args.lambda.arm64 {
        Architecture::Arm64
    } else {
        config.architecture
    };
    let host = toolchain::Host::new(host_triple()?);
    let plan = toolchain::plan(
        architecture,
        args.lambda.zig_choice(),
        args.lambda.glibc,
        &host,
        toolchain::zig_installed,
    )?;
    if let Some(note) = &plan.note {
        shell.note(note);
    }
    check_target_installed(&plan, architecture)?;
    let profile = if args.app.release { "release" } else { "debug" };

    shell.status(
        "Building",
        format!(
            "app `{}` (package `{}`, binary `{}`) for {} Lambda, {profile} profile{}",
            config.app,
            package.name,
            bin.name,
            architecture.as_str(),
            match plan.toolchain {
                Toolchain::Zig => format!(", through zig (glibc {})", plan.glibc),
                Toolchain::Native => String::new(),
            }
        ),
    );
    let dir = app_dir(&metadata, &config.app);
    let mut clients = last_clients(&dir);
    let mut output = cargo_build(shell, args, package, bin, &plan, &clients)?;
    let mut executable = std::mem::take(&mut output.bytes);
    let mut registrations = records_in_object(&executable, &output.executable)?;
    let needed = needed_clients(
        &registrations,
        &artifact::clients_used(&executable, &output.executable)?,
    );
    // Without handlers the build fails below whatever its clients.
    if needed != clients && !registrations.is_empty() {
        // The features of the guess were wrong: a second build, of eventfn and the app only (and
        // of a client's crate the first time it is needed), so that the artifact is the same
        // whatever was built before.
        shell.status(
            "Rebuilding",
            format!(
                "with the AWS SDK clients the app needs: {}",
                client_list(&needed)
            ),
        );
        clients = needed;
        output = cargo_build(shell, args, package, bin, &plan, &clients)?;
        executable = std::mem::take(&mut output.bytes);
        registrations = records_in_object(&executable, &output.executable)?;
        let again = needed_clients(
            &registrations,
            &artifact::clients_used(&executable, &output.executable)?,
        );
        if again != clients {
            bail!(
                "the app's binary asked for the AWS SDK clients {} when built with {}: report \
                 this as a bug of eventfn",
                client_list(&again),
                client_list(&clients)
            );
        }
    }
    let needs_glibc = check_executable(&executable, &output.executable, architecture, &plan)?;
    // Link order is the linker's choice; source order makes messages the same on every build.
    registrations.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    shell.status(
        "Collecting",
        format!(
            "{} handler{} from {}",
            registrations.len(),
            plural(registrations.len()),
            relative(&output.executable)
        ),
    );
    let binary = BuiltBinary {
        crate_name: bin.name.replace('-', "_"),
        bytes: &executable,
        records: &registrations,
    };
    check_linked(shell, &metadata, package, &output, &binary, bin)?;
    if registrations.is_empty() {
        bail!(
            "no handlers found in `{}`: declare one with #[eventfn::event(\"name\")], \
             #[eventfn::queue(\"name\")] or #[eventfn::schedule(\"rate(1 day)\")] on an `async fn` \
             of package `{}` (or of a library crate it uses), and call `eventfn::run()` from `main`",
            relative(&output.executable),
            package.name
        );
    }
    let found = conflicts(&registrations);
    if !found.is_empty() {
        bail!("the app's handlers conflict:\n  {}", found.join("\n  "));
    }
    let found = eventfn_core::logical::collisions(&registrations);
    if !found.is_empty() {
        bail!(
            "the app's names cannot all be told apart on AWS:\n  {}",
            found.join("\n  ")
        );
    }

    // A misspelt name in a handler's send: it builds, and fails at run time.
    for unknown in eventfn_core::record::unknown_sends(&registrations) {
        shell.warn(unknown);
    }

    let mut manifest = Manifest {
        version: MANIFEST_VERSION,
        app: config.app.clone(),
        package: package.name.to_string(),
        binary: bin.name.clone(),
        architecture,
        region: config.region.clone(),
        build: Some(BuildInfo {
            toolchain: plan.toolchain.as_str().to_owned(),
            target: plan
                .cargo_target
                .clone()
                .unwrap_or_else(|| host.triple.clone()),
            profile: profile.to_owned(),
            glibc_ceiling: plan.glibc.to_string(),
            glibc_required: needs_glibc.map(|g| g.to_string()),
            clients,
        }),
        handlers: registrations
            .iter()
            .map(|r| r.resolve(&config.defaults))
            .collect(),
    };
    manifest.sort();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let passed = eventfn_core::manifest::passed_one_time_schedules(&manifest.handlers, now_ms);
    if !passed.is_empty() {
        bail!(
            "the app's one-time schedules cannot fire:\n  {}",
            passed.join("\n  ")
        );
    }
    let windows = eventfn_core::manifest::unfit_retry_windows(&manifest.handlers);
    if !windows.is_empty() {
        bail!(
            "the app's retry policies do not fit on AWS:\n  {}",
            windows.join("\n  ")
        );
    }

    // What runs on Lambda leaves out what only a debugger reads; the whole binary stays beside it
    // as `bootstrap.debug`, to symbolize a crash's backtrace.
    let templates = template::render(&manifest, config.kms_key.as_deref());
    templates
        .check_limits()
        .map_err(|e| anyhow!("cannot build `{}`: {e}", config.app))?;
    let stripped = artifact::strip(&executable, &output.executable)?;
    if let Some(problem) = oversize(stripped.len() as u64) {
        shell.warn(format_args!(
            "{problem} (`cargo eventfn deploy` refuses it)"
        ));
    }
    let zip = zip_bootstrap(&stripped)?;
    let files = write_outputs(&dir, &manifest, &templates, &stripped, &zip, &executable)?;
    shell.status(
        "Writing",
        format!(
            "{}/{{eventfn.json, app.arc, template.json, stacks/ ({} nested), bootstrap, \
             bootstrap.zip, bootstrap.debug}}",
            relative(&dir),
            files.stacks.len()
        ),
    );

    let counts = Counts {
        events: manifest.names(Kind::Event).len(),
        queues: manifest.of_kind(Kind::Queue).count(),
        schedules: manifest.of_kind(Kind::Schedule).count(),
        rules: manifest.of_kind(Kind::Rule).count(),
        handlers: manifest.handlers.len(),
    };
    // Rules only when there are any: most apps have none.
    let rules = match counts.rules {
        0 => String::new(),
        n => format!(", {n} rule{}", plural(n)),
    };
    shell.status(
        "Finished",
        format!(
            "app `{}`: {} event{}, {} queue{}, {} schedule{}{rules} ({} handler{})",
            manifest.app,
            counts.events,
            plural(counts.events),
            counts.queues,
            plural(counts.queues),
            counts.schedules,
            plural(counts.schedules),
            counts.handlers,
            plural(counts.handlers)
        ),
    );
    let built = Built {
        reason: "eventfn-build-finished",
        app: manifest.app.clone(),
        package: manifest.package.clone(),
        binary: manifest.binary.clone(),
        profile,
        architecture,
        build: manifest.build.clone().expect("set above"),
        dir,
        files,
        handlers: counts,
        outputs: Outputs {
            manifest,
            templates,
            bootstrap_len: stripped.len() as u64,
            zip,
        },
    };
    if args.message_format == MessageFormat::Json {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer(&mut stdout, &built)?;
        writeln!(stdout)?;
    }
    Ok(built)
}

/// Where the tool keeps what it makes for `app`: `target/eventfn/<app>/`.
pub(crate) fn app_dir(metadata: &Metadata, app: &str) -> PathBuf {
    metadata
        .target_directory
        .as_std_path()
        .join("eventfn")
        .join(app)
}

/// `SNS, EventBridge`, or `none beside SQS and SSM`.
fn client_list(clients: &[Client]) -> String {
    if clients.is_empty() {
        return "none beside SQS and SSM".to_owned();
    }
    clients
        .iter()
        .map(|c| c.service())
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A path relative to the current directory when it is below it, for shorter messages.
fn relative(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Whether `package`'s own code uses eventfn: a dev-dependency (eventfn's own, for its doctests,
/// or a crate's that only tests with it) puts no handler into its library or binary.
fn depends_on_eventfn(package: &Package) -> bool {
    package
        .dependencies
        .iter()
        .any(|d| d.name == "eventfn" && d.kind == cargo_metadata::DependencyKind::Normal)
}

fn has_bin(package: &Package) -> bool {
    package.targets.iter().any(|t| t.is_bin())
}

pub(crate) fn select_package<'a>(
    metadata: &'a Metadata,
    args: &AppSelection,
) -> Result<&'a Package> {
    let members = metadata.workspace_packages();
    if let Some(spec) = &args.package {
        return members
            .into_iter()
            .find(|p| p.name.as_str() == spec.as_str())
            .ok_or_else(|| {
                let names: Vec<_> = metadata
                    .workspace_packages()
                    .iter()
                    .map(|p| p.name.to_string())
                    .collect();
                anyhow!(
                    "package `{spec}` is not in the workspace; its packages are: {}",
                    names.join(", ")
                )
            });
    }
    if let Some(root) = metadata.root_package() {
        return Ok(root);
    }
    let apps: Vec<&Package> = members
        .into_iter()
        .filter(|p| depends_on_eventfn(p) && has_bin(p))
        .collect();
    match apps.as_slice() {
        [one] => Ok(one),
        [] => bail!(
            "no package of the workspace at `{}` has a binary that depends on `eventfn`: add one, \
             or pass --manifest-path to an app's Cargo.toml",
            metadata.workspace_root
        ),
        several => {
            let names: Vec<_> = several.iter().map(|p| p.name.to_string()).collect();
            bail!(
                "the workspace has several eventfn apps ({}): choose one with `-p NAME`",
                names.join(", ")
            )
        }
    }
}

pub(crate) fn select_bin<'a>(package: &'a Package, args: &AppSelection) -> Result<&'a Target> {
    let bins: Vec<&Target> = package.targets.iter().filter(|t| t.is_bin()).collect();
    if let Some(name) = &args.bin {
        return bins
            .into_iter()
            .find(|t| &t.name == name)
            .ok_or_else(|| anyhow!("package `{}` has no binary named `{name}`", package.name));
    }
    match bins.as_slice() {
        [one] => Ok(one),
        [] => bail!(
            "package `{}` has no binary: an eventfn app is a binary whose `main` calls \
             `eventfn::run()` (add src/main.rs)",
            package.name
        ),
        several => {
            let names: Vec<_> = several.iter().map(|t| t.name.as_str()).collect();
            bail!(
                "package `{}` has several binaries ({}): choose one with `--bin NAME`",
                package.name,
                names.join(", ")
            )
        }
    }
}

fn rustc() -> Command {
    Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
}

fn host_triple() -> Result<String> {
    let out = rustc()
        .arg("-vV")
        .output()
        .context("cannot run `rustc -vV`")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| anyhow!("`rustc -vV` did not print the host triple"))
}

/// Checks that the standard library for `plan`'s cargo target is installed, when it is not the
/// host's: zig needs it as much as a native cross build does.
fn check_target_installed(plan: &toolchain::Plan, architecture: Architecture) -> Result<()> {
    if plan.cargo_target.is_none() {
        return Ok(());
    }
    let target = architecture.rust_target();
    let out = rustc()
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .context("cannot run `rustc --print target-libdir`")?;
    let libdir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let installed = out.status.success()
        && std::fs::read_dir(&libdir).is_ok_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
        });
    if installed {
        return Ok(());
    }
    match plan.toolchain {
        Toolchain::Zig => bail!(
            "building for {} Lambda needs the Rust standard library for `{target}`, which is not \
             installed: run `rustup target add {target}`",
            architecture.as_str()
        ),
        Toolchain::Native => bail!(
            "building for {} Lambda needs the Rust target `{target}`, which is not installed: run \
             `rustup target add {target}`, and name a linker for it in \
             `CARGO_TARGET_{}_LINKER` (or in `.cargo/config.toml`); or build through zig, which \
             needs no linker of yours: drop `--no-zig` and install {}",
            architecture.as_str(),
            target.to_uppercase().replace('-', "_"),
            toolchain::INSTALL_ZIG
        ),
    }
}

struct BuildOutput {
    /// Where cargo put the binary, for messages.
    executable: PathBuf,
    /// The binary as this build made it (the file may since be another build's).
    bytes: Vec<u8>,
    /// The `--target` it was built for, if not the host.
    target: Option<String>,
    /// What built it (which must also build the `target` above).
    toolchain: Toolchain,
    /// rlibs of the crates that depend on `eventfn` (the ones that may declare handlers).
    libs: Vec<(PackageId, Target, PathBuf)>,
}

/// eventfn's features for a Lambda build linking `clients`: `aws-base` (the SDK's configuration,
/// SQS and SSM's `GetParameter`, which every function uses) and each client's own.
fn lambda_features(clients: &[Client]) -> Vec<&'static str> {
    std::iter::once("aws-base")
        .chain(clients.iter().map(|c| c.feature()))
        .collect()
}

/// The SDK clients an app needs beside `aws-base`: SNS when it has an `#[event]` handler (its
/// stage has topics only then, and the delay function forwards delayed events to them),
/// EventBridge and the Scheduler when its code can reach `put_event` or `.after(...)`, which the
/// runtime marks in the binary ([`artifact::clients_used`]).
fn needed_clients(registrations: &[Registration], used: &[Client]) -> Vec<Client> {
    let events = registrations.iter().any(|r| r.kind == Kind::Event);
    let mut clients: Vec<Client> = events.then_some(Client::Sns).into_iter().collect();
    clients.extend(used.iter().copied().filter(|c| *c != Client::Sns));
    clients.sort();
    clients.dedup();
    clients
}

/// The clients the last build of the app linked, from the manifest it wrote; SNS alone when there
/// is none (most apps have events, and few put them on buses or delay them long). A guess: the
/// build reads what the app needs from the binary, and builds again when the guess was wrong.
fn last_clients(dir: &Path) -> Vec<Client> {
    std::fs::read(dir.join("eventfn.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok())
        .and_then(|m| m.build)
        .map_or_else(|| vec![Client::Sns], |b| b.clients)
}

fn cargo_build(
    shell: &Shell,
    args: &BuildArgs,
    package: &Package,
    bin: &Target,
    plan: &toolchain::Plan,
    clients: &[Client],
) -> Result<BuildOutput> {
    let mut cargo_args = package_args(&args.app, package, bin, &lambda_features(clients));
    // Linked as a position-dependent executable, the bootstrap needs no relocations from the
    // loader: one with the AWS SDK carries some 33,000, whose processing and copied pages made
    // up most of its cold start beyond a hello world's (runtime/benches/init.rs). Only the final
    // link changes (dependencies stay position-independent code, as they can be in such an
    // executable), at the cost of address randomization for the executable's own image; `--pie`
    // keeps it.
    let subcommand = if args.lambda.pie {
        "build"
    } else {
        cargo_args.extend(["--".to_owned(), "-Crelocation-model=static".to_owned()]);
        "rustc"
    };
    let ran = run_cargo(
        shell,
        &CargoCall {
            toolchain: plan.toolchain,
            subcommand,
            manifest_path: &package.manifest_path,
            target: plan.cargo_target.as_deref(),
            args: &cargo_args,
        },
        Some(&Wanted {
            package,
            bin,
            link: None,
        }),
    )?;
    let libs = ran.artifacts.iter().flat_map(rlibs).collect();
    let binary = ran.binary.expect("a wanted binary is held");
    Ok(BuildOutput {
        executable: binary.path.clone(),
        bytes: binary.read()?,
        target: plan.cargo_target.clone(),
        toolchain: plan.toolchain,
        libs,
    })
}

/// Builds the app's binary for this machine (for `cargo eventfn dev`) and links it at `link`,
/// where no other build replaces it before it runs.
pub(crate) fn host_build(
    shell: &Shell,
    app: &AppSelection,
    package: &Package,
    bin: &Target,
    link: &Path,
) -> Result<()> {
    let mut cargo_args = package_args(app, package, bin, &["sandbox"]);
    if !app.release {
        cargo_args.extend(optimized_dependencies());
    }
    run_cargo(
        shell,
        &CargoCall {
            toolchain: Toolchain::Native,
            subcommand: "build",
            manifest_path: &package.manifest_path,
            target: None,
            args: &cargo_args,
        },
        Some(&Wanted {
            package,
            bin,
            link: Some(link),
        }),
    )?;
    Ok(())
}

/// The crates the sandbox spends its time in, each handling every publish and delivery: its
/// store (SQLite), its HTTP server (hyper), JSON and the async runtime.
const HOT_DEPENDENCIES: [&str; 16] = [
    "eventfn",
    "eventfn-core",
    "foldhash",
    "hashbrown",
    "hashlink",
    "chrono",
    "libsqlite3-sys",
    "rusqlite",
    "tokio",
    "mio",
    "hyper",
    "hyper-util",
    "httparse",
    "http",
    "bytes",
    "serde_json",
];

/// `--config` flags that build [`HOT_DEPENDENCIES`] optimized in the dev profile of `cargo
/// eventfn dev`: the app's own code stays unoptimized for its debugger, and the user's
/// Cargo.toml is not touched. cargo keeps these builds beside the plain ones (a profile setting
/// is part of an artifact's hash), so `cargo build` and `cargo eventfn dev` do not undo each
/// other's.
fn optimized_dependencies() -> Vec<String> {
    HOT_DEPENDENCIES
        .iter()
        .flat_map(|name| {
            [
                "--config".to_owned(),
                format!("profile.dev.package.{name}.opt-level=3"),
            ]
        })
        .collect()
}

/// The rlibs an artifact message reports, if it is a library's.
fn rlibs(artifact: &cargo_metadata::Artifact) -> Vec<(PackageId, Target, PathBuf)> {
    let is_lib = artifact
        .target
        .kind
        .iter()
        .any(|k| matches!(k, TargetKind::Lib | TargetKind::RLib));
    if !is_lib {
        return Vec::new();
    }
    artifact
        .filenames
        .iter()
        .filter(|file| file.extension() == Some("rlib"))
        .map(|file| {
            (
                artifact.package_id.clone(),
                artifact.target.clone(),
                file.clone().into_std_path_buf(),
            )
        })
        .collect()
}

/// A cargo command: `cargo SUBCOMMAND --manifest-path M [--target T] ARGS`.
#[derive(Clone, Copy)]
struct CargoCall<'a> {
    toolchain: Toolchain,
    subcommand: &'a str,
    manifest_path: &'a cargo_metadata::camino::Utf8Path,
    target: Option<&'a str>,
    args: &'a [String],
}

/// A binary to hold the moment cargo reports it (see [`run_cargo`]).
struct Wanted<'a> {
    package: &'a Package,
    bin: &'a Target,
    /// Where to keep a hard link to it, for `dev`, which runs it by path; `None`: only opened.
    link: Option<&'a Path>,
}

/// A binary cargo built, opened (and linked) while cargo still held its lock on the target
/// directory.
#[derive(Debug)]
struct Held {
    /// Where cargo put it (`target/debug/NAME`), for messages.
    path: PathBuf,
    file: std::fs::File,
    /// Where a hard link to it was asked for, and whether it was made.
    link: Option<(PathBuf, bool)>,
    /// Whether cargo was still running once it was opened (and linked), so still held its lock:
    /// then the file is this build's.
    in_time: bool,
}

impl Held {
    fn read(mut self) -> Result<Vec<u8>> {
        use std::io::Read as _;
        let mut bytes = Vec::new();
        self.file
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read `{}`", self.path.display()))?;
        Ok(bytes)
    }
}

/// How many builds in a row may lose their binary to another build before the tool gives up.
const BUILD_ATTEMPTS: usize = 3;

/// What [`run_cargo`] reports.
struct Ran {
    artifacts: Vec<cargo_metadata::Artifact>,
    /// The wanted binary, when one was.
    binary: Option<Held>,
}

/// Runs `cargo SUBCOMMAND` (`build` or `rustc`, for flags of the final crate only), or
/// cargo-zigbuild's (`zigbuild` or `rustc`), with cargo's own progress on stderr, and returns the
/// artifacts it reports; a failed build is [`CargoFailed`].
///
/// cargo puts every build's binary at one path (`target/debug/NAME`), whatever its features or
/// profile settings: a `cargo build` of the same package with other features, waiting on cargo's
/// lock, replaces the file as soon as this build lets go of the lock. So the `wanted` binary is
/// opened when cargo reports it, which is while cargo still holds the lock; if cargo has let go
/// of it by then, the file may be another build's, and cargo is asked again (a build that has
/// nothing to compile, which reports the binary again).
fn run_cargo(shell: &Shell, call: &CargoCall<'_>, wanted: Option<&Wanted<'_>>) -> Result<Ran> {
    for attempt in 1..=BUILD_ATTEMPTS {
        let ran = cargo_once(shell, call, wanted)?;
        match (wanted, ran.binary) {
            (None, _) => {
                return Ok(Ran {
                    artifacts: ran.artifacts,
                    binary: None,
                });
            }
            (Some(wanted), None) => bail!(
                "cargo built package `{}` but reported no executable for binary `{}`",
                wanted.package.name,
                wanted.bin.name
            ),
            (Some(_), Some(held)) if held.in_time => {
                return Ok(Ran {
                    artifacts: ran.artifacts,
                    binary: Some(finish_link(held)?),
                });
            }
            (Some(_), Some(held)) => {
                if attempt == BUILD_ATTEMPTS {
                    bail!(
                        "another build replaced `{}` as soon as cargo had built it, {} times in a \
                         row: run this again when the other cargo build is done",
                        relative(&held.path),
                        BUILD_ATTEMPTS
                    );
                }
                shell.note(format_args!(
                    "cargo let go of the target directory before `{}` could be read, so another \
                     build may have replaced it: asking cargo for it again",
                    relative(&held.path)
                ));
            }
        }
    }
    unreachable!("the last attempt returns or fails")
}

/// One run of cargo: its artifacts and the wanted binary, if reported.
fn cargo_once(shell: &Shell, call: &CargoCall<'_>, wanted: Option<&Wanted<'_>>) -> Result<Ran> {
    let CargoCall {
        toolchain,
        subcommand,
        manifest_path,
        target,
        args,
    } = *call;
    let (cargo, subcommand) = match toolchain {
        Toolchain::Native => (
            std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            subcommand,
        ),
        // cargo-zigbuild runs the `cargo` on PATH, with zig as the C compiler and linker.
        Toolchain::Zig => (
            "cargo-zigbuild".into(),
            if subcommand == "build" {
                "zigbuild"
            } else {
                subcommand
            },
        ),
    };
    let mut command = Command::new(&cargo);
    remove_crate_env(&mut command);
    command
        .arg(subcommand)
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(manifest_path);
    if let Some(target) = target {
        command.args(["--target", target]);
    }
    // Options go before a `--` that hands flags to rustc.
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    command
        .args(&args[..split])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(color) = shell.color.cargo_arg() {
        command.args(["--color", color]);
    }
    if shell.quiet {
        command.arg("--quiet");
    }
    if shell.verbose {
        command.arg("--verbose");
    }
    command.args(&args[split..]);
    shell.verbose("Running", format!("{command:?}"));
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run `{}`", cargo.to_string_lossy()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut artifacts = Vec::new();
    let mut lines = Vec::new();
    let mut held = None;
    let mut hold_error = None;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        match message.context("cannot read cargo's build messages")? {
            Message::CompilerArtifact(artifact) => {
                if let (Some(wanted), Some(executable), None, None) =
                    (wanted, &artifact.executable, &held, &hold_error)
                    && artifact.package_id == wanted.package.id
                    && artifact.target.name == wanted.bin.name
                    && artifact.target.is_bin()
                {
                    match hold(executable.as_std_path(), wanted.link) {
                        Ok(mut file) => {
                            file.in_time = matches!(child.try_wait(), Ok(None));
                            held = Some(file);
                        }
                        Err(e) => hold_error = Some(e),
                    }
                }
                artifacts.push(artifact);
            }
            Message::TextLine(line) => lines.push(line),
            _ => {}
        }
    }
    let status = child.wait().context("cargo build did not finish")?;
    for line in lines {
        eprintln!("{line}");
    }
    if !status.success() {
        return Err(CargoFailed.into());
    }
    if let Some(e) = hold_error {
        return Err(e);
    }
    Ok(Ran {
        artifacts,
        binary: held,
    })
}

/// Leaves out of `command`'s environment what cargo sets for a crate it runs (`cargo run`, `cargo
/// test`, an xtask): `CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME` and the like. cargo compares the
/// variables a build script watches (ring's watches `CARGO_MANIFEST_DIR`) with its own
/// environment, so a build run from such a crate would rebuild them, and everything above them,
/// and so would the next build from a shell.
fn remove_crate_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if CRATE_ENV.contains(&name) || name.starts_with("CARGO_PKG_") {
            command.env_remove(name);
        }
    }
}

/// What cargo sets for a crate it runs, besides `CARGO_PKG_*`.
const CRATE_ENV: [&str; 5] = [
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

/// Opens the binary at `path` and, if asked, links it at `link` (replacing what was there, even
/// a binary still running: it keeps its own copy). A link that cannot be made (a target
/// directory across file systems) is left for [`finish_link`] to copy, which takes too long to
/// do while cargo holds its lock.
fn hold(path: &Path, link: Option<&Path>) -> Result<Held> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read `{}`", relative(path)))?;
    let link = match link {
        None => None,
        Some(link) => {
            if let Some(dir) = link.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create `{}`", dir.display()))?;
            }
            let staged = staged_name(link);
            let _ = std::fs::remove_file(&staged);
            let linked = std::fs::hard_link(path, &staged).is_ok();
            if linked {
                std::fs::rename(&staged, link)
                    .with_context(|| format!("cannot write `{}`", link.display()))?;
            }
            Some((link.to_owned(), linked))
        }
    };
    Ok(Held {
        path: path.to_owned(),
        file,
        link,
        in_time: false,
    })
}

/// Copies a held binary to its link where [`hold`] could not link it.
fn finish_link(mut held: Held) -> Result<Held> {
    let Some((link, false)) = &held.link else {
        return Ok(held);
    };
    let staged = staged_name(link);
    let result = (|| -> std::io::Result<()> {
        let mut out = std::fs::File::create(&staged)?;
        std::io::copy(&mut held.file, &mut out)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            out.set_permissions(std::fs::Permissions::from_mode(0o755))?;
        }
        drop(out);
        std::fs::rename(&staged, link)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&staged);
        return Err(e).with_context(|| format!("cannot write `{}`", link.display()));
    }
    let link = link.clone();
    held.file =
        std::fs::File::open(&link).with_context(|| format!("cannot read `{}`", link.display()))?;
    held.link = Some((link, true));
    Ok(held)
}

/// Checks that the bootstrap is an executable for the functions' architecture that needs no glibc
/// newer than the plan's, and returns the newest glibc it needs (`None`: none at all).
fn check_executable(
    executable: &[u8],
    path: &Path,
    architecture: Architecture,
    plan: &toolchain::Plan,
) -> Result<Option<Glibc>> {
    let file = object::File::parse(executable)
        .with_context(|| format!("cannot read `{}` as an executable", relative(path)))?;
    let expected = toolchain::elf_architecture(architecture);
    if file.format() != object::BinaryFormat::Elf || file.architecture() != expected {
        bail!(
            "`{}` is {}, but {} Lambda functions run {}: cargo built it for another target (a \
             `build.target` in `.cargo/config.toml`?)",
            relative(path),
            describe_executable(file.format(), file.architecture()),
            architecture.as_str(),
            describe_executable(object::BinaryFormat::Elf, expected),
        );
    }
    let needed = required_glibc(executable).map(Glibc::from);
    match needed {
        Some(needed) if needed > plan.glibc => {
            let what_to_do = match plan.toolchain {
                Toolchain::Native => format!(
                    "build through zig, which links against glibc {} whatever the host has: \
                     install {} and build again (or pass `--zig`)",
                    plan.glibc,
                    toolchain::INSTALL_ZIG
                ),
                Toolchain::Zig => format!(
                    "a dependency links a library built for a newer glibc; build it from \
                     source through zig, or pass a `--glibc` of {needed} or newer"
                ),
            };
            let limit = if plan.glibc == toolchain::LAMBDA_GLIBC {
                format!(
                    "Lambda's provided.al2023 runtime has glibc {}, so it would not start there",
                    plan.glibc
                )
            } else {
                format!("the build was to need glibc {} at most", plan.glibc)
            };
            bail!(
                "`{}` needs glibc {needed}, but {limit}: {what_to_do}",
                relative(path)
            )
        }
        _ => Ok(needed),
    }
}

/// `an x86_64 ELF executable`, `an aarch64 Mach-O executable`.
fn describe_executable(format: object::BinaryFormat, architecture: object::Architecture) -> String {
    let machine = match architecture {
        object::Architecture::X86_64 => "x86_64".to_owned(),
        object::Architecture::Aarch64 => "aarch64".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    };
    let format = match format {
        object::BinaryFormat::Elf => "ELF",
        object::BinaryFormat::MachO => "Mach-O",
        object::BinaryFormat::Pe => "PE",
        _ => "other",
    };
    let article = if machine.starts_with(['a', 'e', 'i', 'o', 'u', 'x']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {machine} {format} executable")
}

/// Fails when a library crate's handlers did not make it into the binary: a crate that the
/// binary's code never names is not linked, and its registrations go with it.
///
/// Under LTO cargo writes rlibs as LLVM bitcode, which holds no readable section. Such a crate is
/// known to be linked, records and all, when the binary holds a record only it can have put there
/// ([`linked_by_its_records`]); the others are built once more with the dev profile, whose rlibs
/// are native objects, to learn what they declare.
fn check_linked(
    shell: &Shell,
    metadata: &Metadata,
    app: &Package,
    output: &BuildOutput,
    binary: &BuiltBinary<'_>,
    bin: &Target,
) -> Result<()> {
    let handler_crates: Vec<&Package> = metadata
        .packages
        .iter()
        .filter(|p| depends_on_eventfn(p))
        .collect();
    let handler_crate = |id: &PackageId| handler_crates.iter().find(|p| &p.id == id).copied();
    // (package, its library target's name, what the rlib declares)
    let mut declared: Vec<(&Package, String, Vec<Registration>)> = Vec::new();
    let mut bitcode: Vec<&Package> = Vec::new();
    for (id, target, rlib) in &output.libs {
        let Some(package) = handler_crate(id) else {
            continue;
        };
        match records_in_rlib(&read(rlib)?, rlib)? {
            LibRecords::Read(records) => declared.push((package, target.name.clone(), records)),
            LibRecords::Unreadable => {
                let crate_name = target.name.replace('-', "_");
                let named_alike = output
                    .libs
                    .iter()
                    .filter(|(_, t, _)| t.name.replace('-', "_") == crate_name)
                    .count();
                if named_alike > 1 || !linked_by_its_records(rlib, &crate_name, binary) {
                    bitcode.push(package);
                }
            }
        }
    }
    if !bitcode.is_empty() {
        let names: Vec<&str> = bitcode.iter().map(|p| p.name.as_str()).collect();
        shell.status(
            "Checking",
            format!(
                "handlers of {} (dev profile: LTO rlibs are bitcode)",
                names.join(", ")
            ),
        );
        let mut args = vec!["--lib".to_owned()];
        for package in &bitcode {
            args.push("-p".to_owned());
            args.push(package.id.repr.clone());
        }
        let ran = run_cargo(
            shell,
            &CargoCall {
                toolchain: output.toolchain,
                subcommand: "build",
                manifest_path: &app.manifest_path,
                target: output.target.as_deref(),
                args: &args,
            },
            None,
        )?;
        for (id, target, rlib) in ran.artifacts.iter().flat_map(rlibs) {
            let Some(package) = bitcode.iter().copied().find(|p| p.id == id) else {
                continue;
            };
            match records_in_rlib(&read(&rlib)?, &rlib)? {
                LibRecords::Read(records) => declared.push((package, target.name, records)),
                LibRecords::Unreadable => bail!(
                    "cannot tell whether the handlers of crate `{}` are linked: its rlib holds LLVM \
                     bitcode even with the dev profile; turn `lto` off in [profile.dev]",
                    package.name
                ),
            }
        }
    }

    let mut missing: BTreeMap<String, Vec<Registration>> = BTreeMap::new();
    for (package, lib_name, records) in declared {
        let absent: Vec<Registration> = records
            .into_iter()
            .filter(|r| !binary.records.contains(r))
            .collect();
        if absent.is_empty() {
            continue;
        }
        // The name the app's code uses for the crate: a renamed dependency goes by its new name.
        let used_as = app
            .dependencies
            .iter()
            .find(|d| d.name == package.name.as_str())
            .and_then(|d| d.rename.clone())
            .unwrap_or(lib_name)
            .replace('-', "_");
        missing.entry(used_as).or_default().extend(absent);
    }
    if missing.is_empty() {
        return Ok(());
    }
    let mut message = String::new();
    for (krate, records) in &mut missing {
        // In source order, as the manifest: the order of an rlib's objects is the compiler's.
        records.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        let list: Vec<String> = records
            .iter()
            .map(|r| format!("`{}` ({})", r.function, r.source()))
            .collect();
        message.push_str(&format!(
            "{} handler{} of crate `{krate}` {} not linked into binary `{}`: {}\n  \
             The binary never refers to the crate, so the linker left it out. Add `use {krate} as _;` \
             to `{}`.\n",
            records.len(),
            plural(records.len()),
            if records.len() == 1 { "is" } else { "are" },
            bin.name,
            list.join(", "),
            bin.src_path,
        ));
    }
    bail!("{}", message.trim_end())
}

/// The app's binary, as [`linked_by_its_records`] needs it.
struct BuiltBinary<'a> {
    /// Its crate's name: `welcome` for the binary `welcome` (the library of package `welcome` is
    /// crate `welcome` too).
    crate_name: String,
    /// The executable as this build made it.
    bytes: &'a [u8],
    /// The records read from it.
    records: &'a [Registration],
}

/// Whether the binary holds a record that only the library crate `crate_name`, whose rlib is at
/// `rlib`, can have put there. That proves the crate is linked, and a linked crate brings every
/// one of its records: rustc refers to each `#[used]` static of every crate it links from an
/// object file of its own, so that the linker keeps them all, with LTO or without (why
/// `use that_crate as _;`, which refers to nothing in it, keeps a crate's handlers).
///
/// Only the binary's crate and the libraries it links can have put records in it; the caller
/// makes sure no other library has this one's name. A record names its crate first
/// (`module_path!()`) and its file as rustc was given it (`file!()`), as the library's dep-info
/// (`<crate>-<hash>.d`, beside the rlib) lists its sources. When the binary's crate has the same
/// name (a package's `main.rs` beside its `lib.rs`), a file the binary was compiled from too
/// proves nothing, so its dep-info must be found: the one of that name whose executable is
/// this build's. Anything not found or not read is no proof: the caller then builds the library
/// again to see.
fn linked_by_its_records(rlib: &Path, crate_name: &str, binary: &BuiltBinary<'_>) -> bool {
    let (Some(dir), Some(stem)) = (rlib.parent(), rlib.file_stem().and_then(|s| s.to_str())) else {
        return false;
    };
    let Some(lib) = stem
        .strip_prefix("lib")
        .and_then(|unit| std::fs::read_to_string(dir.join(format!("{unit}.d"))).ok())
        .and_then(|text| artifact::dep_info(&text))
        .filter(artifact::DepInfo::is_lib)
    else {
        return false;
    };
    let binary_sources = if binary.crate_name == crate_name {
        match binary_dep_info(dir, binary) {
            Some(info) => info.sources,
            None => return false,
        }
    } else {
        Vec::new()
    };
    binary.records.iter().any(|r| {
        r.function.split("::").next() == Some(crate_name)
            && lib.sources.contains(&r.file)
            && !binary_sources.contains(&r.file)
    })
}

/// The dep-info in `dir` of the binary's crate: of its name (`<crate>.d`, `<crate>-<hash>.d`),
/// not a library's, naming an executable whose bytes are the binary's (cargo's
/// `target/<profile>/<bin>` is a link to or copy of it).
fn binary_dep_info(dir: &Path, binary: &BuiltBinary<'_>) -> Option<artifact::DepInfo> {
    let hashed = format!("{}-", binary.crate_name);
    std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name();
        let unit = name.to_str()?.strip_suffix(".d")?;
        if unit != binary.crate_name && !unit.starts_with(&hashed) {
            return None;
        }
        let info = artifact::dep_info(&std::fs::read_to_string(entry.path()).ok()?)?;
        let is_this_build = |output: &String| {
            let output = Path::new(output);
            output.extension().is_none_or(|e| e != "d")
                && std::fs::metadata(output).is_ok_and(|m| m.len() == binary.bytes.len() as u64)
                && std::fs::read(output).is_ok_and(|bytes| bytes == binary.bytes)
        };
        (!info.is_lib() && info.outputs.iter().any(is_this_build)).then_some(info)
    })
}

/// The most a function's code may take unzipped, layers included: 250 MB (Lambda's quotas).
pub const LAMBDA_UNZIPPED_MAX: u64 = 250 * 1024 * 1024;

/// What is wrong with a bootstrap of `size` bytes for Lambda, if anything.
pub fn oversize(size: u64) -> Option<String> {
    (size > LAMBDA_UNZIPPED_MAX).then(|| {
        format!(
            "the bootstrap is {}, stripped, over the {} Lambda allows for a function's code \
             unzipped: build with `--release` (`deploy` does unless given `--debug`), or turn \
             down debug info for the build (`[profile.dev] debug = \"line-tables-only\"`)",
            megabytes(size),
            megabytes(LAMBDA_UNZIPPED_MAX)
        )
    })
}

/// `12.3 MB` (MiB, as Lambda counts its limits).
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// Writes the build's outputs, each through a temporary file renamed into place, so that a
/// failure leaves the previous build's files whole: `bootstrap` (stripped) and its zip, and
/// `bootstrap.debug`, the binary as built.
fn write_outputs(
    dir: &Path,
    manifest: &Manifest,
    templates: &template::Templates,
    executable: &[u8],
    zip: &[u8],
    unstripped: &[u8],
) -> Result<Files> {
    let stacks = dir.join("stacks");
    std::fs::create_dir_all(&stacks)
        .with_context(|| format!("cannot create `{}`", stacks.display()))?;
    let files = Files {
        manifest: dir.join("eventfn.json"),
        arc: dir.join("app.arc"),
        template: dir.join("template.json"),
        stacks: templates
            .nested
            .keys()
            .map(|id| stacks.join(format!("{id}.json")))
            .collect(),
        bootstrap: dir.join("bootstrap"),
        zip: dir.join("bootstrap.zip"),
        debug: dir.join("bootstrap.debug"),
    };
    let mut json = serde_json::to_string_pretty(manifest)?;
    json.push('\n');
    let mut outputs: Vec<(&Path, Vec<u8>, bool)> = vec![
        (&files.manifest, json.into_bytes(), false),
        (&files.arc, arc::render(manifest).into_bytes(), false),
        (
            &files.template,
            template::pretty(&templates.parent).into_bytes(),
            false,
        ),
        (&files.bootstrap, executable.to_vec(), true),
        (&files.zip, zip.to_vec(), false),
        (&files.debug, unstripped.to_vec(), true),
    ];
    for (path, nested) in files.stacks.iter().zip(templates.nested.values()) {
        outputs.push((path, template::pretty(nested).into_bytes(), false));
    }
    let mut staged: Vec<(PathBuf, &Path)> = Vec::new();
    let result = (|| -> Result<()> {
        for (path, bytes, executable) in &outputs {
            staged.push((stage(path, bytes, *executable)?, path));
        }
        for (tmp, path) in &staged {
            std::fs::rename(tmp, path)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result?;
    // A nested stack an earlier build wrote, which no handler hashes to any more.
    if let Ok(entries) = std::fs::read_dir(&stacks) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") && !files.stacks.contains(&path) {
                match std::fs::remove_file(&path) {
                    // Another build of the app, at the same time, removed it first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    result => {
                        result.with_context(|| format!("cannot remove `{}`", path.display()))?
                    }
                }
            }
        }
    }
    Ok(files)
}

/// Writes `bytes` to a temporary file beside `path`, unique to this process (two builds of one
/// app at once must not rename each other's file away), and returns its path.
fn stage(path: &Path, bytes: &[u8], executable: bool) -> Result<PathBuf> {
    let tmp = staged_name(path);
    let result = (|| -> std::io::Result<()> {
        std::fs::write(&tmp, bytes)?;
        #[cfg(unix)]
        if executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        }
        #[cfg(not(unix))]
        let _ = executable;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", tmp.display()));
    }
    Ok(tmp)
}

/// Where `path` is written before it is renamed into place: beside it, named for this process.
fn staged_name(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .expect("output paths have a file name")
        .to_string_lossy();
    path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()))
}

/// The `provided.al2023` artifact: one executable file named `bootstrap`, mode 0755, with a fixed
/// timestamp so the same binary always makes the same zip (and the same content hash).
fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    writer
        .start_file("bootstrap", options)
        .context("cannot write bootstrap.zip")?;
    writer
        .write_all(binary)
        .context("cannot write bootstrap.zip")?;
    writer.finish().context("cannot write bootstrap.zip")?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(kind: &str, name: &str) -> Registration {
        Registration::parse(
            format!(
                r#"{{"v":1,"kind":"{kind}","name":"{name}","payload":null,"context":false,"options":{{}},"function":"app::f","file":"src/main.rs","line":1,"column":1}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    /// A record of `function` declared in `file`.
    fn declared(function: &str, file: &str) -> Registration {
        let mut r = registration("event", "e");
        r.function = function.to_owned();
        r.file = file.to_owned();
        r
    }

    #[test]
    fn a_bitcode_library_is_linked_when_a_record_only_it_declares_is_in_the_binary() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path();
        let at = |name: &str| deps.join(name).display().to_string();
        let write = |name: &str, text: &str| std::fs::write(deps.join(name), text).unwrap();
        let rlib = deps.join("libshop-1a.rlib");
        write("libshop-1a.rlib", "");
        write(
            "shop-1a.d",
            &format!(
                "{}: shop/src/lib.rs shop/src/orders.rs shop/src/shared.rs\n\n\
                 {}: shop/src/lib.rs shop/src/orders.rs shop/src/shared.rs\n\n\
                 shop/src/lib.rs:\n\n# env-dep:CARGO_PKG_NAME=shop: a\n",
                at("shop-1a.d"),
                at("libshop-1a.rlib")
            ),
        );
        // The binary of the same name from the same package, which compiles a file of the
        // library's too; a test harness of the library, and a file that is no dep-info.
        write("shop-2b", "this build's executable");
        write(
            "shop-2b.d",
            &format!(
                "{}: shop/src/main.rs shop/src/shared.rs\n\n{}: shop/src/main.rs shop/src/shared.rs\n",
                at("shop-2b.d"),
                at("shop-2b")
            ),
        );
        write("shop-3c", "a test harness");
        write(
            "shop-3c.d",
            &format!("{}: shop/src/lib.rs shop/src/orders.rs\n", at("shop-3c")),
        );
        write("shop-4d.d", "garbled");
        let records = |records: &[Registration], bytes: &[u8], crate_name: &str| {
            let binary = BuiltBinary {
                crate_name: crate_name.to_owned(),
                bytes,
                records,
            };
            linked_by_its_records(&rlib, "shop", &binary)
        };
        let main = declared("shop::main_handler", "shop/src/main.rs");
        let placed = declared("shop::orders::placed", "shop/src/orders.rs");
        let shared = declared("shop::shared::h", "shop/src/shared.rs");
        let this_build = b"this build's executable";
        let linked = |r: &[Registration]| records(r, this_build, "shop");

        assert!(linked(&[main.clone(), placed.clone()]));
        // Only the binary's own, or one in a file the binary compiles too: no proof.
        assert!(!linked(std::slice::from_ref(&main)));
        assert!(!linked(std::slice::from_ref(&shared)));
        // Another crate's record naming the library's file: no proof.
        assert!(!linked(&[declared("other::h", "shop/src/orders.rs")]));
        assert!(!linked(&[]));
        // The binary's dep-info not found (its executable is another build's): no proof.
        assert!(!records(
            std::slice::from_ref(&placed),
            b"another build",
            "shop"
        ));
        // A binary of another name: every record of crate `shop` is the library's.
        assert!(records(&[shared], b"another build", "shop_cli"));
        // No dep-info for the rlib: no proof.
        std::fs::remove_file(deps.join("shop-1a.d")).unwrap();
        assert!(!linked(&[placed]));
    }

    #[test]
    fn the_clients_are_sns_for_events_and_what_the_code_reaches() {
        let queue = [registration("queue", "jobs")];
        let event = [registration("queue", "jobs"), registration("event", "e")];
        assert_eq!(needed_clients(&queue, &[]), []);
        assert_eq!(needed_clients(&event, &[]), [Client::Sns]);
        assert_eq!(
            needed_clients(&queue, &[Client::Scheduler, Client::EventBridge]),
            [Client::EventBridge, Client::Scheduler]
        );
        assert_eq!(
            lambda_features(&[Client::Sns, Client::Scheduler]),
            ["aws-base", "aws-sns", "aws-scheduler"]
        );
        assert_eq!(client_list(&[]), "none beside SQS and SSM");
        assert_eq!(
            client_list(&[Client::Sns, Client::EventBridge]),
            "SNS, EventBridge"
        );
    }

    #[test]
    fn the_first_guess_is_the_last_builds_clients_else_sns() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(last_clients(dir.path()), [Client::Sns]);
        let manifest = serde_json::json!({
            "version": MANIFEST_VERSION, "app": "a", "package": "a", "binary": "a",
            "architecture": "x86_64", "handlers": [],
            "build": {
                "toolchain": "native", "target": "x86_64-unknown-linux-gnu", "profile": "debug",
                "glibc_ceiling": "2.34", "glibc_required": null, "clients": ["eventbridge"],
            },
        });
        std::fs::write(dir.path().join("eventfn.json"), manifest.to_string()).unwrap();
        assert_eq!(last_clients(dir.path()), [Client::EventBridge]);
        // A manifest of an older eventfn, without `clients`: none were chosen then.
        let mut older = manifest.clone();
        older["build"].as_object_mut().unwrap().remove("clients");
        std::fs::write(dir.path().join("eventfn.json"), older.to_string()).unwrap();
        assert_eq!(last_clients(dir.path()), []);
        // Unreadable: the default guess.
        std::fs::write(dir.path().join("eventfn.json"), "{").unwrap();
        assert_eq!(last_clients(dir.path()), [Client::Sns]);
    }

    /// A package `app` with the given `[dependencies]` entries, as `cargo metadata` reports them.
    fn package(dependencies: serde_json::Value) -> Package {
        serde_json::from_value(serde_json::json!({
            "name": "app", "version": "0.1.0", "id": "path+file:///app#0.1.0",
            "dependencies": dependencies, "targets": [], "features": {},
            "manifest_path": "/app/Cargo.toml", "edition": "2024",
        }))
        .unwrap()
    }

    fn dependency(
        name: &str,
        rename: Option<&str>,
        kind: Option<&str>,
        optional: bool,
    ) -> serde_json::Value {
        serde_json::json!({
            "name": name, "req": "^0.1", "kind": kind, "rename": rename, "optional": optional,
            "uses_default_features": true, "features": [], "target": null, "source": null,
        })
    }

    #[test]
    fn the_build_turns_on_the_runtime_feature_it_needs_under_the_apps_name_for_eventfn() {
        let app = AppSelection::default();
        let bin: Target = serde_json::from_value(serde_json::json!({
            "name": "app", "kind": ["bin"], "crate_types": ["bin"], "src_path": "/app/src/main.rs",
        }))
        .unwrap();
        let features = lambda_features(&[Client::Sns]);
        let args = |deps| package_args(&app, &package(deps), &bin, &features);
        let plain = serde_json::json!([dependency("eventfn", None, None, false)]);
        assert_eq!(
            args(plain),
            [
                "-p",
                "app",
                "--bin",
                "app",
                "--features",
                "eventfn/aws-base,eventfn/aws-sns"
            ]
        );
        let renamed = serde_json::json!([
            dependency("eventfn", Some("ev"), Some("dev"), false),
            dependency("eventfn", Some("events"), None, true),
        ]);
        assert_eq!(
            args(renamed)[4..],
            ["--features", "events?/aws-base,events?/aws-sns"]
        );
        // No direct dependency: nothing to name (the crate that has it turns it on).
        assert_eq!(
            args(serde_json::json!([dependency("serde", None, None, false)])).len(),
            4
        );
    }

    fn native_plan() -> toolchain::Plan {
        toolchain::Plan {
            toolchain: Toolchain::Native,
            cargo_target: None,
            glibc: toolchain::LAMBDA_GLIBC,
            note: None,
        }
    }

    /// This test binary, its newest glibc symbol version rewritten to 2.38 in its string table:
    /// what a binary linked on a current Ubuntu or Fedora looks like to the reader.
    fn binary_needing_glibc_2_38() -> Vec<u8> {
        let mut exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let (major, minor) = required_glibc(&exe).expect("a dynamically linked test binary");
        let old = format!("GLIBC_{major}.{minor}\0");
        let new = b"GLIBC_2.38\0";
        assert_eq!(
            old.len(),
            new.len(),
            "this host's glibc has a two-digit minor version"
        );
        let mut at = 0;
        while let Some(i) = exe[at..]
            .windows(old.len())
            .position(|w| w == old.as_bytes())
        {
            exe[at + i..at + i + new.len()].copy_from_slice(new);
            at += i + new.len();
        }
        assert_eq!(required_glibc(&exe), Some((2, 38)));
        exe
    }

    #[test]
    fn a_bootstrap_that_needs_a_newer_glibc_is_refused_saying_how_to_build_one() {
        let exe = binary_needing_glibc_2_38();
        let path = Path::new("target/debug/app");
        let native = check_executable(&exe, path, Architecture::X86_64, &native_plan())
            .unwrap_err()
            .to_string();
        assert_eq!(
            native,
            "`target/debug/app` needs glibc 2.38, but Lambda's provided.al2023 runtime has glibc \
             2.34, so it would not start there: build through zig, which links against glibc \
             2.34 whatever the host has: install `pip3 install ziglang cargo-zigbuild` (or \
             `cargo install cargo-zigbuild` and zig from https://ziglang.org/download/) and \
             build again (or pass `--zig`)"
        );
        let pinned = toolchain::Plan {
            toolchain: Toolchain::Zig,
            glibc: toolchain::MIN_GLIBC,
            ..native_plan()
        };
        let zig = check_executable(&exe, path, Architecture::X86_64, &pinned)
            .unwrap_err()
            .to_string();
        assert!(
            zig.contains("needs glibc 2.38, but the build was to need glibc 2.17 at most"),
            "{zig}"
        );
        // What this host built itself passes, and its glibc is reported.
        let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let needed = check_executable(&own, path, Architecture::X86_64, &native_plan());
        if required_glibc(&own).is_some_and(|v| Glibc::from(v) <= toolchain::LAMBDA_GLIBC) {
            assert!(needed.unwrap().is_some());
        }
    }

    #[test]
    fn a_bootstrap_for_another_machine_is_refused() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let (wrong, says) = if cfg!(target_arch = "x86_64") {
            (
                Architecture::Arm64,
                "is an x86_64 ELF executable, but arm64 Lambda functions run an aarch64 ELF executable",
            )
        } else {
            (
                Architecture::X86_64,
                "is an aarch64 ELF executable, but x86_64 Lambda functions run an x86_64 ELF executable",
            )
        };
        let err = check_executable(&exe, Path::new("bootstrap"), wrong, &native_plan())
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{err}");
        let err = check_executable(b"#!/bin/sh", Path::new("bootstrap"), wrong, &native_plan())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "cannot read `bootstrap` as an executable");
    }

    #[test]
    fn a_bootstrap_over_lambdas_limit_is_named_with_its_size_and_what_to_do() {
        assert_eq!(oversize(LAMBDA_UNZIPPED_MAX), None);
        assert_eq!(
            oversize(327 * 1024 * 1024).unwrap(),
            "the bootstrap is 327.0 MB, stripped, over the 250.0 MB Lambda allows for a \
             function's code unzipped: build with `--release` (`deploy` does unless given \
             `--debug`), or turn down debug info for the build (`[profile.dev] debug = \
             \"line-tables-only\"`)"
        );
    }

    #[test]
    fn zip_holds_an_executable_bootstrap_and_is_deterministic() {
        let a = zip_bootstrap(b"\x7fELF fake").unwrap();
        assert_eq!(a, zip_bootstrap(b"\x7fELF fake").unwrap());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        assert_eq!(archive.len(), 1);
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    /// What `hold` opened stays this build's binary when another build replaces the file at
    /// cargo's path, as cargo does (remove, then link); so does the link `dev` runs.
    #[test]
    fn a_held_binary_survives_another_build_replacing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app");
        std::fs::write(&path, b"this build").unwrap();
        let link = dir.path().join("eventfn/app/dev/app");
        let held = hold(&path, Some(&link)).unwrap();
        assert_eq!(held.link, Some((link.clone(), true)));

        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"another build").unwrap();
        assert_eq!(std::fs::read(&link).unwrap(), b"this build");
        assert_eq!(held.read().unwrap(), b"this build");

        // A second `dev` of the app replaces the link, not what the first one runs.
        let first = std::fs::File::open(&link).unwrap();
        let held = hold(&path, Some(&link)).unwrap();
        assert_eq!(std::fs::read(&link).unwrap(), b"another build");
        assert_eq!(held.read().unwrap(), b"another build");
        let mut kept = Vec::new();
        std::io::Read::read_to_end(&mut &first, &mut kept).unwrap();
        assert_eq!(kept, b"this build");
        // Nothing staged is left beside the link.
        let left: Vec<_> = std::fs::read_dir(link.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["app"]);
    }

    /// Where no hard link could be made, the held binary is copied to the link, executable.
    #[test]
    fn a_binary_that_cannot_be_linked_is_copied_from_what_was_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app");
        std::fs::write(&path, b"this build").unwrap();
        let link = dir.path().join("dev/app");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        let held = Held {
            path: path.clone(),
            file: std::fs::File::open(&path).unwrap(),
            link: Some((link.clone(), false)),
            in_time: true,
        };
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"another build").unwrap();
        let held = finish_link(held).unwrap();
        assert_eq!(held.link, Some((link.clone(), true)));
        assert_eq!(std::fs::read(&link).unwrap(), b"this build");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&link).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        assert_eq!(held.read().unwrap(), b"this build");
    }

    /// A binary cargo reported but that is gone is an error naming it.
    #[test]
    fn a_binary_that_cannot_be_opened_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = hold(&dir.path().join("gone"), None).unwrap_err();
        assert!(format!("{err:#}").contains("cannot read `"), "{err:#}");
        assert!(format!("{err:#}").contains("gone`"), "{err:#}");
    }

    /// cargo's own variables stay; what it sets for a crate it runs goes.
    #[test]
    fn builds_leave_out_what_cargo_sets_for_a_crate_it_runs() {
        // `cargo test` sets these for this test process, as for any crate it runs.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let mut command = Command::new("cargo");
        remove_crate_env(&mut command);
        let removed: Vec<String> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        for name in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_PKG_VERSION"] {
            assert!(removed.iter().any(|r| r == name), "{name}: {removed:?}");
        }
        for name in ["CARGO", "CARGO_HOME", "CARGO_TARGET_DIR", "PATH"] {
            assert!(!removed.iter().any(|r| r == name), "{name}: {removed:?}");
        }
    }
}
