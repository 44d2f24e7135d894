//! End to end: `cargo eventfn build` over the fixture crates and the welcome example.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection};
use support::*;

fn summary_path(summary: &serde_json::Value, file: &str) -> PathBuf {
    PathBuf::from(summary["files"][file].as_str().expect("path in summary"))
}

/// A handler's send to a literal name the app lacks (the fixture enqueues to `thumbnail`, its
/// queue being `thumbnails`) builds, with a warning that points at the literal and offers the
/// closest name.
#[test]
fn a_send_to_a_name_the_app_lacks_is_warned_of_where_it_is_written() {
    let output = eventfn(&["build", "-p", "fixture-basic"], &[("NO_COLOR", "1")]);
    let said = stderr(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains(
            "warning: tests/fixtures/basic/src/main.rs:17:27: handler \
             `fixture_basic::payload_only` sends to `thumbnail`, no queue of this app (did you \
             mean `thumbnails`?): the send fails in the sandbox and on AWS unless another app \
             takes it"
        ),
        "{said}"
    );
    assert_eq!(said.matches("sends to").count(), 1, "{said}");
}

/// The basic fixture's `eventfn.json` is the expected one, but for how it was built (which depends
/// on the host), and that is what the summary says; returns it.
fn assert_manifest_is_expected(summary: &serde_json::Value, profile: &str) -> serde_json::Value {
    let expected = read(root().join("tests/fixtures/basic/expected/eventfn.json"));
    let expected: serde_json::Value = serde_json::from_str(&expected).unwrap();
    let written = read(summary_path(summary, "manifest"));
    let mut manifest: serde_json::Value = serde_json::from_str(&written).unwrap();
    let build = manifest
        .as_object_mut()
        .unwrap()
        .remove("build")
        .expect("a build record");
    assert_eq!(manifest, expected);
    assert_eq!(summary["build"], build);
    assert_eq!(build["profile"], profile);
    let required = build["glibc_required"].as_str().expect("a glibc is linked");
    let minor: u32 = required.strip_prefix("2.").unwrap().parse().unwrap();
    assert!(minor <= 34, "{build}");
    // Events, so SNS's client; no `put_event` or `.after(...)`, so neither EventBridge's nor the
    // Scheduler's, and no marker of theirs survived the link.
    assert_eq!(build["clients"], serde_json::json!(["sns"]), "{build}");
    let bootstrap = std::fs::read(summary_path(summary, "bootstrap")).unwrap();
    assert_markers(&bootstrap, &[]);
    build
}

/// The runtime's markers of the SDK clients an app's code reaches are the sections `expected`.
fn assert_markers(executable: &[u8], expected: &[&str]) {
    let file = object::File::parse(executable).unwrap();
    let mut markers: Vec<&str> = file
        .sections()
        .filter_map(|s| s.name().ok())
        .filter(|name| name.starts_with(".eventfn.uses."))
        .collect();
    markers.sort_unstable();
    assert_eq!(markers, expected);
}

/// `--zig` needs cargo-zigbuild and zig; without them, the message says how to install them.
#[test]
fn zig_builds_say_what_to_install_when_zig_is_missing() {
    // cargo and rustc only: the toolchain's own directory.
    let cargo = std::env::var("CARGO").unwrap();
    let toolchain = std::path::Path::new(&cargo)
        .parent()
        .unwrap()
        .to_str()
        .unwrap();
    let output = eventfn(
        &["build", "-p", "fixture-empty", "--zig"],
        &[("PATH", toolchain)],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains(
            "error: `--zig` builds through cargo-zigbuild and zig, but `cargo-zigbuild` is not on \
             PATH: install them with `pip3 install ziglang cargo-zigbuild` (or `cargo install \
             cargo-zigbuild` and zig from https://ziglang.org/download/)"
        ),
        "{said}"
    );
    let refused = eventfn(&["build", "--glibc", "2.39"], &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused)
            .contains("glibc 2.39 is newer than Lambda's provided.al2023 runtime has (2.34)"),
        "{}",
        stderr(&refused)
    );
}

/// An arm64 build through zig needs only the aarch64 standard library: where it is missing, the
/// message says how to add it; where it is there, the bootstrap is an aarch64 executable.
#[test]
fn arm64_builds_need_only_the_aarch64_standard_library() {
    let target = "aarch64-unknown-linux-gnu";
    let libdir = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .unwrap();
    let libdir = String::from_utf8(libdir.stdout).unwrap();
    let installed = std::fs::read_dir(libdir.trim()).is_ok_and(|mut d| {
        d.any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("libstd-")
        })
    });
    let path = path_with_zig();
    let args = [
        "build",
        "--message-format",
        "json",
        "-p",
        "fixture-sandbox-app",
        "--arm64",
    ];
    let output = eventfn(&args, &[("PATH", &path)]);
    if !installed {
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(
                "error: building for arm64 Lambda needs the Rust standard library for \
                 `aarch64-unknown-linux-gnu`, which is not installed: run `rustup target add \
                 aarch64-unknown-linux-gnu`"
            ),
            "{}",
            stderr(&output)
        );
        return;
    }
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["build"]["target"], "aarch64-unknown-linux-gnu.2.34");
    let bytes = std::fs::read(summary_path(&summary, "bootstrap")).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    assert_eq!(file.architecture(), object::Architecture::Aarch64);
}

#[test]
fn basic_fixture_yields_the_exact_manifest() {
    let summary = build_ok(&["-p", "fixture-basic"], &[]);
    assert_eq!(summary["reason"], "eventfn-build-finished");
    assert_eq!(summary["app"], "basic-app");
    assert_eq!(summary["profile"], "debug");
    assert_eq!(
        summary["handlers"],
        serde_json::json!({"events": 4, "queues": 2, "schedules": 2, "rules": 2, "handlers": 12})
    );
    let build = assert_manifest_is_expected(&summary, "debug");
    // Nothing on PATH in these tests finds zig; this host builds with its own toolchain.
    assert_eq!(build["toolchain"], "native", "{build}");
    assert_eq!(build["glibc_ceiling"], "2.34");
    let expected_arc = read(root().join("tests/fixtures/basic/expected/app.arc"));
    assert_eq!(read(summary_path(&summary, "arc")), expected_arc);

    // The artifact: `bootstrap` executable, and the same bytes zipped under that name, mode 0755.
    let bootstrap = summary_path(&summary, "bootstrap");
    let bytes = std::fs::read(&bootstrap).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bootstrap).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    let zip = std::fs::File::open(summary_path(&summary, "zip")).unwrap();
    let mut archive = zip::ZipArchive::new(zip).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_name("bootstrap").unwrap();
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut zipped = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut zipped).unwrap();
    assert!(zipped == bytes, "bootstrap.zip holds the built bootstrap");
    // Stripped of what only a debugger reads; the binary as built is beside it.
    let file = object::File::parse(&*bytes).unwrap();
    assert!(file.section_by_name(".symtab").is_none());
    assert!(
        file.sections()
            .all(|s| !s.name().unwrap().starts_with(".debug_"))
    );
    assert!(file.section_by_name("eventfn_manifest").is_some());
    let debug = std::fs::read(summary_path(&summary, "debug")).unwrap();
    let unstripped = object::File::parse(&*debug).unwrap();
    assert!(unstripped.section_by_name(".symtab").is_some());
    assert!(unstripped.section_by_name(".debug_line").is_some());
    assert!(bytes.len() < debug.len());
    assert_eq!(file.entry(), unstripped.entry());
    // Position-dependent: the loader has no relocations to apply at cold start.
    let kind = object::File::parse(&*bytes).unwrap().kind();
    assert_eq!(kind, object::ObjectKind::Executable);
}

/// On a package no other test of this file builds: two builds of one package at once, one with
/// `--pie`, would write the same binary.
#[test]
fn pie_keeps_a_position_independent_bootstrap() {
    let summary = build_ok(&["-p", "fixture-lambda-app", "--pie"], &[]);
    let bytes = std::fs::read(summary_path(&summary, "bootstrap")).unwrap();
    // Its code puts events on a bus and delays publishes: every client is linked.
    assert_eq!(
        summary["build"]["clients"],
        serde_json::json!(["sns", "eventbridge", "scheduler"])
    );
    assert_markers(
        &bytes,
        &[".eventfn.uses.eventbridge", ".eventfn.uses.scheduler"],
    );
    let kind = object::File::parse(&*bytes).unwrap().kind();
    assert_eq!(
        kind,
        object::ObjectKind::Dynamic,
        "a PIE is a dynamic object"
    );
}

/// Release builds with fat LTO, stripped, one codegen unit. Nothing else in the tests builds
/// with the release profile, so they share the workspace's target dir. Opt-level 1 still runs
/// LTO's internalization and global dead-code elimination, which are what could drop the
/// registrations, and saves about 70 s of the suite's longest build (276 s → 205 s here).
fn lto_env() -> [(&'static str, &'static str); 4] {
    [
        ("CARGO_PROFILE_RELEASE_LTO", "true"),
        ("CARGO_PROFILE_RELEASE_STRIP", "true"),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"),
    ]
}

/// `cargo eventfn build --release -p <package>` with [`lto_env`], which succeeds without building
/// the handler libraries again to check them: its JSON summary.
fn lto_build_without_second_build(package: &str) -> serde_json::Value {
    let args = [
        "build",
        "--message-format",
        "json",
        "-p",
        package,
        "--release",
    ];
    let output = eventfn(&args, &lto_env());
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(!err.contains("Checking handlers"), "{err}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn manifest_survives_lto_strip_and_one_codegen_unit() {
    // fixture-lib's rlib is bitcode, but a record only it declares is in the binary: it is
    // linked, with every record it has, and is not built again to be checked.
    let summary = lto_build_without_second_build("fixture-basic");
    assert_eq!(summary["profile"], "release");
    assert_manifest_is_expected(&summary, "release");

    // The binary really is stripped: the registrations came from the section, not symbols.
    let bytes = std::fs::read(summary_path(&summary, "bootstrap")).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    assert!(
        file.section_by_name(".symtab").is_none(),
        "release binary is stripped"
    );
    assert!(file.section_by_name("eventfn_manifest").is_some());
}

fn assert_unlinked_error(err: &str) {
    assert!(
        err.contains(
            "error: 2 handlers of crate `handlers` are not linked into binary `fixture-unlinked`: \
             `fixture_lib::audit::audit_order` (tests/fixtures/lib/src/audit.rs:4:1), \
             `fixture_lib::record_order` (tests/fixtures/lib/src/lib.rs:3:1)"
        ),
        "{err}"
    );
    assert!(err.contains("Add `use handlers as _;` to"), "{err}");
}

#[test]
fn unlinked_library_handlers_fail_the_build() {
    assert_unlinked_error(&build_err(&["-p", "fixture-unlinked"], 1));
}

#[test]
fn unlinked_library_handlers_fail_the_build_under_lto_too() {
    // LTO rlibs are bitcode. The package's own library is a crate of the binary's name: its
    // handler in the binary, from a file the binary is not compiled from, proves it linked.
    // fixture-lib has none there, so the check builds it once more with the dev profile.
    let output = eventfn(
        &["build", "-p", "fixture-unlinked", "--release"],
        &lto_env(),
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.lines()
            .any(|l| l.trim()
                == "Checking handlers of fixture-lib (dev profile: LTO rlibs are bitcode)"),
        "{err}"
    );
    assert_unlinked_error(&err);
}

#[test]
fn an_app_without_handlers_fails_the_build() {
    let err = build_err(&["-p", "fixture-empty"], 1);
    assert!(err.contains("error: no handlers found in"), "{err}");
    assert!(
        err.contains("declare one with #[eventfn::event(\"name\")]"),
        "{err}"
    );
}

#[test]
fn two_handlers_for_one_queue_name_both_places() {
    let err = build_err(&["-p", "fixture-conflict"], 1);
    assert!(
        err.contains(
            "two queues are named `jobs`: `fixture_conflict::first` at tests/fixtures/conflict/src/main.rs:3:1 \
             and `fixture_conflict::second` at tests/fixtures/conflict/src/main.rs:9:1"
        ),
        "{err}"
    );
}

#[test]
fn names_that_one_template_cannot_tell_apart_fail_the_build() {
    let err = build_err(&["-p", "fixture-id-clash"], 1);
    assert!(
        err.contains(
            "event names `account-signup` (at tests/fixtures/id-clash/src/main.rs:4:1) and \
             `account_signup` (at tests/fixtures/id-clash/src/main.rs:10:1) both become the \
             CloudFormation logical ID `EventAccountSignup`"
        ),
        "{err}"
    );
}

#[test]
fn bad_package_metadata_names_the_key() {
    let err = build_err(&["-p", "fixture-bad-config"], 1);
    assert!(
        err.contains("[package.metadata.eventfn] timeout: timeout `20m` is 1200s: Lambda allows at most 15m (900s)"),
        "{err}"
    );
}

#[test]
fn retries_that_would_outlast_sqs_retention_are_refused_naming_the_handler() {
    let err = build_err(&["-p", "fixture-retry-window"], 1);
    assert!(
        err.contains(
            "handler `fixture_retry_window::slow_and_stubborn` at tests/fixtures/retry-window/src/main.rs:6:1: \
             retries = 300 with a timeout of 900s spans up to 301 × 6 × 900s = 451 hours on AWS"
        ),
        "{err}"
    );
    assert!(err.contains("at most retries = 223"), "{err}");
    assert!(!err.contains("quick_and_stubborn"), "{err}");
}

#[test]
fn choosing_the_app_is_explained() {
    let err = build_err(&[], 1);
    assert!(
        err.contains("the workspace has several eventfn apps ("),
        "{err}"
    );
    assert!(err.contains("choose one with `-p NAME`"), "{err}");

    let err = build_err(&["-p", "no-such-package"], 1);
    assert!(
        err.contains("package `no-such-package` is not in the workspace"),
        "{err}"
    );

    let err = build_err(&["--manifest-path", "nowhere/Cargo.toml"], 1);
    assert!(
        err.contains("manifest path `nowhere/Cargo.toml` does not exist"),
        "{err}"
    );

    let err = build_err(&["-p", "welcome", "--bin", "other"], 1);
    assert!(
        err.contains("package `welcome` has no binary named `other`"),
        "{err}"
    );
}

#[test]
fn compile_errors_exit_like_cargo() {
    // A crate that does not compile: cargo's errors are shown and its exit code kept.
    // Its own workspace, built into the shared target dir so eventfn's dependencies are reused.
    let target = root().join("target");
    let output = eventfn(
        &["build", "--manifest-path", "tests/broken-app/Cargo.toml"],
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
    );
    assert_eq!(output.status.code(), Some(101), "cargo's exit code");
    let err = stderr(&output);
    assert!(
        err.contains("invalid event name: `not a name` contains ` `"),
        "{err}"
    );
    assert!(err.contains("could not build the app"), "{err}");
}

#[test]
fn arm64_needs_its_target() {
    let libdir = std::process::Command::new("rustc")
        .args([
            "--print",
            "target-libdir",
            "--target",
            "aarch64-unknown-linux-gnu",
        ])
        .output()
        .unwrap();
    let libdir = String::from_utf8_lossy(&libdir.stdout).trim().to_owned();
    if Path::new(&libdir).join("..").exists()
        && std::fs::read_dir(&libdir).is_ok_and(|mut d| d.next().is_some())
    {
        eprintln!(
            "aarch64-unknown-linux-gnu is installed here; the missing-target message cannot be seen"
        );
        return;
    }
    // Without zig on PATH (the tests' PATH has none), a cross build says to install it...
    let err = build_err(&["-p", "welcome", "--arm64"], 1);
    assert!(
        err.contains(
            "building for arm64 Lambda (aarch64-unknown-linux-gnu) on this host \
             (`x86_64-unknown-linux-gnu`) needs zig to cross-compile, but `cargo-zigbuild` is not \
             on PATH: install them with `pip3 install ziglang cargo-zigbuild`"
        ) || !cfg!(target_arch = "x86_64"),
        "{err}"
    );
    // ... and with `--no-zig`, what a cross build with cargo alone needs.
    let err = build_err(&["-p", "welcome", "--arm64", "--no-zig"], 1);
    assert!(
        err.contains("building for arm64 Lambda needs the Rust target `aarch64-unknown-linux-gnu`, which is not installed: run `rustup target add aarch64-unknown-linux-gnu`"),
        "{err}"
    );
}

#[test]
fn help_describes_every_flag() {
    let output = eventfn(&["build", "--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--release",
        "--manifest-path",
        "--package",
        "--bin",
        "--arm64",
        "--pie",
        "--message-format",
        "--verbose",
        "--color",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

/// Architect's own reader of `app.arc`, installed by `scripts/setup`.
fn architect_inventory(dir: &Path) -> serde_json::Value {
    let modules = root().join("target/tools/node/node_modules");
    assert!(
        modules.join("@architect/inventory").is_dir(),
        "@architect/inventory is not installed in {}: run `scripts/setup` (the README's test command does)",
        modules.display()
    );
    let output = std::process::Command::new("node")
        .arg(root().join("tests/arc/inventory.cjs"))
        .arg(dir)
        .env("EVENTFN_NODE_MODULES", &modules)
        .output()
        .expect("run node (Node.js is needed for this test)");
    assert!(
        output.status.success(),
        "Architect rejected {}/app.arc: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// What `eventfn.json` says, in the shape the inventory script prints.
fn as_architect_sees_it(manifest: &serde_json::Value) -> serde_json::Value {
    let handlers = manifest["handlers"].as_array().unwrap();
    let names = |kind: &str| {
        let mut names: Vec<&str> = handlers
            .iter()
            .filter(|h| h["kind"] == kind)
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let scheduled: Vec<serde_json::Value> = handlers
        .iter()
        .filter(|h| h["kind"] == "schedule")
        .map(|h| {
            let expr = h["schedule"].as_str().unwrap();
            let (rate, cron) = if expr.starts_with("rate(") {
                (Some(expr), None)
            } else {
                (None, Some(expr))
            };
            serde_json::json!({ "name": h["name"], "rate": rate, "cron": cron })
        })
        .collect();
    serde_json::json!({
        "app": manifest["app"],
        "events": names("event"),
        "queues": names("queue"),
        "scheduled": scheduled,
    })
}

#[test]
fn architect_reads_the_same_app_from_app_arc() {
    for package in ["welcome", "fixture-basic"] {
        let summary = build_ok(&["-p", package], &[]);
        let manifest: serde_json::Value =
            serde_json::from_str(&read(summary_path(&summary, "manifest"))).unwrap();
        let seen = architect_inventory(Path::new(summary["dir"].as_str().unwrap()));
        assert_eq!(seen, as_architect_sees_it(&manifest), "{package}");
    }
}

/// An endpoint with a user name and password, on a port where nothing listens.
const SECRET_ENDPOINT: &str = "http://user:secret@127.0.0.1:1";

#[test]
fn help_never_shows_an_endpoints_password() {
    for command in [
        "deploy", "destroy", "events", "replay", "purge", "publish", "trigger", "logs", "status",
        "invoke",
    ] {
        let output = eventfn(
            &[command, "--help"],
            &[
                ("AWS_ENDPOINT_URL", SECRET_ENDPOINT),
                ("EVENTFN_SANDBOX", SECRET_ENDPOINT),
            ],
        );
        assert!(output.status.success(), "{command} --help");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(!help.contains("secret"), "{command} --help:\n{help}");
        // Named, with no value (clap may wrap the line after `[env:`).
        assert!(
            help.contains("AWS_ENDPOINT_URL]") || help.contains("EVENTFN_SANDBOX]"),
            "{command} --help:\n{help}"
        );
    }
    let output = eventfn(
        &["deploy", "--help"],
        &[("AWS_ENDPOINT_URL", SECRET_ENDPOINT)],
    );
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("[env: AWS_ENDPOINT_URL]"), "{help}");
}

/// `cargo eventfn deploy` against `endpoint`, with credentials but no AWS behind it: it stops
/// when it checks the credentials, before building anything.
fn deploy_to(endpoint: &str, args: &[&str]) -> String {
    let mut all = vec!["deploy", "-p", "welcome"];
    all.extend_from_slice(args);
    let output = logged(aws_command(&all, endpoint), &all);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(!err.contains("secret"), "{err}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("secret"));
    err
}

/// `cargo eventfn <args>` with test credentials, its requests sent to `endpoint`
/// (`AWS_ENDPOINT_URL`).
fn aws_command(args: &[&str], endpoint: &str) -> std::process::Command {
    let mut command = command(args);
    command
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    command
}

#[test]
fn errors_name_an_endpoint_without_its_password() {
    let err = deploy_to(SECRET_ENDPOINT, &[]);
    assert!(
        err.contains("could not check the AWS credentials (sts:GetCallerIdentity): could not reach http://127.0.0.1:1:"),
        "{err}"
    );
    // The same given as an argument.
    let err = deploy_to("http://127.0.0.1:2", &["--endpoint-url", SECRET_ENDPOINT]);
    assert!(err.contains("could not reach http://127.0.0.1:1:"), "{err}");

    // One the SDK is told to ignore: the messages name where requests went, and why.
    let publish = [
        "publish",
        "--stage",
        "qa",
        "-p",
        "welcome",
        "account-signup",
        "{}",
    ];
    let mut ignored = aws_command(&publish, SECRET_ENDPOINT);
    // Requests to AWS itself go through a proxy that is not there, on any machine.
    ignored
        .env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let output = logged(ignored, &publish);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("could not reach AWS (us-east-1)"), "{err}");
    assert!(
        err.contains(
            "AWS_ENDPOINT_URL is set but not used, as AWS_IGNORE_CONFIGURED_ENDPOINT_URLS says: \
             requests go to AWS"
        ),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");

    // An endpoint the SDK could not read, which its own error would quote whole.
    let err = deploy_to("http://user:secret@", &[]);
    assert!(
        err.contains(
            "invalid endpoint URL `http://` (its user name and password not shown) (from \
             --endpoint-url or AWS_ENDPOINT_URL): invalid authority"
        ),
        "{err}"
    );

    // A sandbox's address, too.
    let output = eventfn(
        &["publish", "signup", "{}"],
        &[("EVENTFN_SANDBOX", SECRET_ENDPOINT)],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("no sandbox answers at http://127.0.0.1:1 "),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
}

/// `cargo build -p <app>` (as the user runs it), then `cargo eventfn build` and `cargo eventfn
/// dev`'s build, each with its own features and settings: once each has run, running any of them
/// again compiles nothing. cargo keeps each build's artifacts under its own hash, and eventfn
/// sets no environment variable that a build script tracks.
#[test]
fn cargo_build_and_eventfn_builds_do_not_rebuild_each_other() {
    let cargo_build = || {
        let output = cargo()
            .args(["build", "-p", "fixture-deploy-app"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        stderr(&output)
    };
    let dev_build = || {
        // `dev` with a store in a directory that is not one: it builds, then stops.
        let store = target_dir().join("eventfn-tests/not-a-dir");
        std::fs::create_dir_all(store.parent().unwrap()).unwrap();
        std::fs::write(&store, "a file").unwrap();
        let output = eventfn(
            &[
                "dev",
                "-p",
                "fixture-deploy-app",
                "--port",
                "0",
                "--store",
                store.to_str().unwrap(),
            ],
            &[],
        );
        stderr(&output)
    };
    cargo_build();
    build_ok(&["-p", "fixture-deploy-app"], &[]);
    dev_build();
    for (what, said) in [
        ("cargo build", cargo_build()),
        (
            "cargo eventfn build",
            stderr(&eventfn(&["build", "-p", "fixture-deploy-app"], &[])),
        ),
        ("cargo eventfn dev", dev_build()),
    ] {
        assert!(
            !said.contains("Compiling "),
            "{what} compiled again:\n{said}"
        );
    }
}
