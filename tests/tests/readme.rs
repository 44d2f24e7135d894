//! The README's own commands, as a reader runs them: its quick start (the `welcome` example in
//! the sandbox, an event published into it, the deliveries listed, the app built for AWS) and
//! `scripts/demo`, its first command.
//!
//! `cargo install --path cargo-eventfn` is the one step not run: it would write to the
//! machine's `~/.cargo/bin`. What it installs is the `cargo-eventfn` binary the tests build, and
//! `cargo eventfn ARGS` runs `cargo-eventfn eventfn ARGS`; so here a shell function named
//! `cargo` runs that binary for `cargo eventfn` and the real cargo otherwise, and each line of
//! the README runs as written. The sandbox gets a free port and a store of its own
//! (`--port 0 --store DIR` added to its line), so the test leaves port 4747 alone.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::*;

/// The lines of the shell blocks under `## Quick start`, comments stripped off by the shell.
fn quick_start() -> Vec<Vec<String>> {
    let readme = read(root().join("README.md"));
    let section = readme
        .split("\n## Quick start\n")
        .nth(1)
        .expect("the README has a Quick start section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line == "```sh" {
            blocks.push(
                lines
                    .by_ref()
                    .take_while(|l| *l != "```")
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    blocks
}

/// `bash -c LINE`, where `cargo eventfn` is the binary the tests built.
fn shell(line: &str) -> Command {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!(
            "cargo() {{ if [ \"$1\" = eventfn ]; then \"$CARGO_EVENTFN\" \"$@\"; else command \"$CARGO\" \"$@\"; fi; }}\n{line}"
        ))
        .env("CARGO_EVENTFN", cargo_eventfn())
        .env("CARGO", env!("CARGO"))
        .env("NO_COLOR", "1")
        .current_dir(root());
    remove_crate_env(&mut command);
    command
}

/// Kills a process and everything it started (its process group) when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        // Bash's own `kill`, which takes a process group: no `kill` program needed.
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!("kill -TERM -- -{}", self.0.id()))
            .status();
        let _ = self.0.wait();
    }
}

fn spawn_group(mut command: Command) -> (Group, mpsc::Receiver<String>) {
    let mut child = command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn bash");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("| {line}");
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (Group(child), received)
}

/// Lines from `received` until one for which `stop` holds (within `wait`), all of them.
fn until(
    received: &mpsc::Receiver<String>,
    wait: Duration,
    stop: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = std::time::Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => {
                let done = stop(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("gave up waiting; the output so far:\n{}", seen.join("\n")),
        }
    }
}

fn ok(output: &Output, line: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{line}` failed:\n{}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_quick_start_runs_as_written() {
    let blocks = quick_start();
    assert_eq!(blocks.len(), 2, "two shell blocks: {blocks:?}");
    let (first, second) = (&blocks[0], &blocks[1]);
    assert!(
        first[0].starts_with("cargo install --locked --path cargo-eventfn "),
        "{first:?}"
    );
    let installed = read(root().join("cargo-eventfn/Cargo.toml"));
    assert!(
        installed.contains("name = \"cargo-eventfn\""),
        "what it installs is cargo-eventfn"
    );
    assert!(first[1].starts_with("cargo eventfn dev "), "{first:?}");

    let started = std::time::SystemTime::now();
    let store = target_dir().join("tmp/readme/quick-start");
    let _ = std::fs::remove_dir_all(&store);
    let dev = format!(
        "{} --port 0 --store {}",
        first[1].split('#').next().unwrap().trim(),
        store.display()
    );
    let (_sandbox, log) = spawn_group(shell(&dev));
    let listening = until(&log, Duration::from_secs(600), |l| {
        l.contains("Listening on ")
    });
    let url = listening
        .last()
        .unwrap()
        .trim_start()
        .strip_prefix("Listening on ")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();

    assert_eq!(second.len(), 3, "{second:?}");
    let publish = ok(
        &shell(&second[0])
            .env("EVENTFN_SANDBOX", &url)
            .output()
            .unwrap(),
        &second[0],
    );
    let _ = publish;
    // The publish fans out to both subscribers, and one publishes onwards: the live log shows
    // all three attempts done.
    until(&log, Duration::from_secs(30), |l| {
        l.contains("account-check-email → welcome::check_email") && l.contains(" ok")
    });
    let events = ok(
        &shell(&second[1])
            .env("EVENTFN_SANDBOX", &url)
            .output()
            .unwrap(),
        &second[1],
    );
    for handler in [
        "welcome::send_welcome",
        "welcome::audit",
        "welcome::check_email",
    ] {
        assert!(
            events.contains(handler),
            "`{}` lists {handler}:\n{events}",
            second[1]
        );
    }

    ok(&shell(&second[2]).output().unwrap(), &second[2]);
    let built = target_dir().join("eventfn/welcome");
    for file in ["eventfn.json", "template.json", "bootstrap.zip"] {
        let written = std::fs::metadata(built.join(file))
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("`{}` wrote {file}: {e}", second[2]));
        // Written by this run (build always writes its outputs), not left by an earlier one.
        assert!(
            written >= started,
            "`{}` wrote {file} in this run",
            second[2]
        );
    }
}

/// A symbolic link to the tests' target directory, removed when dropped.
struct Link(std::path::PathBuf);

impl Drop for Link {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `scripts/demo` as a user with `CARGO_TARGET_DIR` set runs it: the target directory is named
/// through a link of its own (the same builds, so nothing is built again), and the demo must
/// build, run and point at the CLI there.
#[test]
fn the_demo_shows_events_flowing_through_the_sandbox() {
    let store = target_dir().join("tmp/readme/demo");
    let _ = std::fs::remove_dir_all(&store);
    let link =
        Link(std::env::temp_dir().join(format!("eventfn-demo-target-{}", std::process::id())));
    let _ = std::fs::remove_file(&link.0);
    std::os::unix::fs::symlink(target_dir(), &link.0).unwrap();
    let mut demo = Command::new(root().join("scripts/demo"));
    demo.env("PORT", free_port().to_string())
        .env("EVENTFN_DEMO_STORE", &store)
        .env("CARGO_TARGET_DIR", &link.0)
        .env("CARGO", env!("CARGO"))
        .env("NO_COLOR", "1")
        .current_dir(root());
    let (_demo, out) = spawn_group(demo);
    let mut seen = until(&out, Duration::from_secs(600), |l| {
        l.starts_with("The sandbox keeps running")
    });
    // The hint names the CLI where it was built.
    seen.extend(until(&out, Duration::from_secs(10), |l| {
        l.contains("publish account-signup")
    }));
    let hint = seen.last().unwrap().trim();
    let cli = link.0.join("debug/cargo-eventfn");
    assert!(
        hint.starts_with(&format!("{} eventfn publish", cli.display())),
        "{hint}"
    );
    let seen = seen.join("\n");
    for expected in [
        "event account-signup → welcome::send_welcome",
        "event account-check-email → welcome::check_email",
        "dead",
        "queue thumbnails → welcome::thumbnail",
        "schedule noon-report → welcome::noon_report",
    ] {
        assert!(
            seen.contains(expected),
            "the demo shows `{expected}`:\n{seen}"
        );
    }
}
