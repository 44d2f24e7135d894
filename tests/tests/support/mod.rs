//! Drives the real `cargo-eventfn` binary over the fixture and example crates.

#![allow(dead_code)] // each test file uses a part of this module

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The workspace's target directory.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The `cargo-eventfn` binary, built once per test process (a no-op when it is up to date).
pub fn cargo_eventfn() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "-p", "cargo-eventfn"])
                .current_dir(root())
                .status()
                .expect("run cargo build -p cargo-eventfn");
            assert!(status.success(), "cargo build -p cargo-eventfn failed");
            target_dir().join("debug").join("cargo-eventfn")
        })
        .clone()
}

/// `cargo eventfn <args>` run from the workspace root, with extra environment variables.
pub fn eventfn(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let output = Command::new(cargo_eventfn())
        .arg("eventfn")
        .args(args)
        .envs(envs.iter().copied())
        .env("CARGO", env!("CARGO"))
        .current_dir(root())
        .output()
        .expect("run cargo-eventfn");
    eprintln!(
        "cargo eventfn {}\n--- stderr ---\n{}--- stdout ---\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `cargo eventfn build --message-format json` and returns the summary it prints.
pub fn build_ok(args: &[&str], envs: &[(&str, &str)]) -> serde_json::Value {
    let mut all = vec!["build", "--message-format", "json"];
    all.extend_from_slice(args);
    let output = eventfn(&all, envs);
    assert!(output.status.success(), "build failed: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("a JSON summary on stdout")
}

/// Runs a failing `cargo eventfn build` and returns its stderr, checking the exit code.
pub fn build_err(args: &[&str], code: i32) -> String {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let output = eventfn(&all, &[]);
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code of a failed build"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout when the build fails"
    );
    stderr(&output)
}

pub fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
