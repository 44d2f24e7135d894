//! The dev loop as users and their tools drive it: the app built as `cargo eventfn dev` builds it,
//! run as it runs it, and publishers reaching it over its HTTP API with 64 requests in flight,
//! each a publish of one event (or one queue job) to a handler that does nothing.
//!
//! Three ways in the same run, so the figures that matter are ratios:
//! - **now**: `cargo eventfn dev` (its dev build with the sandbox's hot dependencies optimized),
//!   publishers on kept-alive connections, as `eventfn::publish` with `EVENTFN_SANDBOX` sends;
//! - **kept-alive only**: the plain debug build of the app with the `sandbox` feature, run with
//!   the same settings, publishers on kept-alive connections: what the pooled connections give
//!   without the optimized dependencies;
//! - **before**: the same plain debug build, publishers opening a connection per publish, as
//!   `EVENTFN_SANDBOX` publishes did before they were pooled;
//! - **followed**: as **now**, with a dashboard open: a client reading `GET /v1/stream`, to
//!   which the sandbox tells every delivery's changes (its store reads each changed delivery
//!   back for it).
//!
//! For each, events and queue jobs, 1,000 and 10,000 of them: delivered per second (from the first
//! publish until the sandbox's log has said `ok` for every one), the publish round trip (p50,
//! p99), and the sandbox process's CPU time per event (user + system, from `/proc`). Then the
//! launch on an unchanged app until its first accepted publish: through `cargo eventfn dev`, and
//! the app's binary alone.
//!
//! `cargo bench -p eventfn --bench dev_loop` (Linux: it reads `/proc`). It drives the tool as a
//! user does, as a process of its own (`cargo-eventfn`, built first), on the fixture app
//! `tests/fixtures/noop-app`.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

mod support;
use support::root;
use support::target_dir;

const IN_FLIGHT: usize = 64;
const PACKAGE: &str = "fixture-noop-app";

/// How the app is built and run, and how publishers connect.
#[derive(Clone, Copy, PartialEq)]
enum Way {
    Now,
    KeptAlive,
    Before,
    Followed,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Now => "now (cargo eventfn dev, kept-alive)",
            Way::KeptAlive => "kept-alive only (plain debug)",
            Way::Before => "before (plain debug, a connection per publish)",
            Way::Followed => "followed (now, with GET /v1/stream read)",
        }
    }
}

/// What each way runs: the plain build's binary and the tool.
struct Setup {
    binary: PathBuf,
    tool: PathBuf,
}

/// `cargo build --quiet <args>` in the workspace.
fn cargo_build(args: &[&str]) {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet"])
        .args(args)
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build {args:?}");
}

/// A port free on 127.0.0.1 now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running sandbox, killed when dropped.
struct Sandbox {
    child: Child,
    port: u16,
    /// The sandbox process (the app): `cargo eventfn dev` execs it.
    pid: u32,
    /// `ok` lines of its log so far.
    delivered: Arc<AtomicU64>,
    _store: tempfile::TempDir,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(way: Way, setup: &Setup) -> Sandbox {
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = match way {
        Way::Now | Way::Followed => {
            let mut command = Command::new(&setup.tool);
            command
                .args(["eventfn", "dev", "-q", "-p", PACKAGE, "--port"])
                .arg(port.to_string())
                .arg("--store")
                .arg(store.path())
                .env("CARGO", env!("CARGO"))
                .current_dir(root());
            command
        }
        Way::KeptAlive | Way::Before => {
            let mut command = Command::new(&setup.binary);
            command
                .env("EVENTFN_SANDBOX_PORT", port.to_string())
                .env("EVENTFN_SANDBOX_DIR", store.path());
            command
        }
    };
    let mut child = command
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let delivered = Arc::new(AtomicU64::new(0));
    let (listening, ready) = std::sync::mpsc::channel();
    let counter = delivered.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.ends_with(" ok") {
                counter.fetch_add(1, Ordering::Relaxed);
            } else if line.contains("Listening on ") {
                let _ = listening.send(());
            }
        }
    });
    ready
        .recv_timeout(Duration::from_secs(600))
        .expect("the sandbox started");
    Sandbox {
        child,
        port,
        pid,
        delivered,
        _store: store,
    }
}

/// User and system CPU time of process `pid` so far, every thread's.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command in parentheses, fields count from 3 (state): utime is 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64)
}

/// `sysconf(_SC_CLK_TCK)`: the unit of `/proc/<pid>/stat`'s times (100 on Linux).
fn clock_ticks() -> i64 {
    unsafe extern "C" {
        fn sysconf(name: i32) -> i64;
    }
    const SC_CLK_TCK: i32 = 2;
    // SAFETY: sysconf only reads a constant of the system.
    unsafe { sysconf(SC_CLK_TCK) }
}

/// The body of a publish of `n` to `kind` `name`.
fn body(kind: &str, name: &str, n: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"messages":[{{"kind":"{kind}","name":"{name}","body":"{n}"}}]}}"#
    ))
}

/// Publishes `count` messages to `kind` `name` at `port`, [`IN_FLIGHT`] at once: the round trip
/// of each, in microseconds.
async fn publish(
    way: Way,
    port: u16,
    kind: &'static str,
    name: &'static str,
    count: u64,
) -> Vec<u64> {
    let next = Arc::new(AtomicU64::new(0));
    let uri: hyper::Uri = format!("http://127.0.0.1:{port}/v1/publish")
        .parse()
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut tasks = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (next, uri, client) = (next.clone(), uri.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return took;
                }
                let request = hyper::Request::post(uri.clone())
                    .header("content-type", "application/json")
                    .header("host", format!("127.0.0.1:{port}"))
                    .body(Full::new(body(kind, name, n)))
                    .unwrap();
                let started = Instant::now();
                let response = match way {
                    Way::Now | Way::KeptAlive | Way::Followed => {
                        client.request(request).await.unwrap()
                    }
                    Way::Before => {
                        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                            .await
                            .unwrap();
                        let (mut sender, connection) =
                            hyper::client::conn::http1::handshake(TokioIo::new(stream))
                                .await
                                .unwrap();
                        tokio::spawn(connection);
                        sender.send_request(request).await.unwrap()
                    }
                };
                let status = response.status();
                let answer = response.into_body().collect().await.unwrap().to_bytes();
                assert!(status.is_success(), "{status}: {answer:?}");
                took.push(started.elapsed().as_micros() as u64);
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

/// Reads the sandbox's stream at `port` as a dashboard does, counting its `delivery` events into
/// `told`, until aborted.
async fn follow(port: u16, told: Arc<AtomicU64>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = hyper::Request::get(format!("http://127.0.0.1:{port}/v1/stream"))
        .header("host", format!("127.0.0.1:{port}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let mut body = client.request(request).await.unwrap().into_body();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            let text = String::from_utf8_lossy(data);
            told.fetch_add(
                text.matches("event: delivery").count() as u64,
                Ordering::Relaxed,
            );
        }
    }
}

/// The `p` quantile of `sorted` microseconds, in milliseconds.
fn percentile(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// One load, its figures printed: the events delivered per second.
fn load(
    runtime: &tokio::runtime::Runtime,
    way: Way,
    setup: &Setup,
    (kind, name): (&'static str, &'static str),
    count: u64,
) -> f64 {
    let sandbox = start(way, setup);
    let told = Arc::new(AtomicU64::new(0));
    let follower =
        (way == Way::Followed).then(|| runtime.spawn(follow(sandbox.port, told.clone())));
    if follower.is_some() {
        // Following before the first publish.
        std::thread::sleep(Duration::from_millis(200));
    }
    let cpu_before = cpu(sandbox.pid);
    let started = Instant::now();
    let mut took = runtime.block_on(publish(way, sandbox.port, kind, name, count));
    while sandbox.delivered.load(Ordering::Relaxed) < count {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "not all delivered"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    let used = cpu(sandbox.pid) - cpu_before;
    if let Some(follower) = follower {
        follower.abort();
        println!(
            "    the follower was told of {} delivery changes",
            told.load(Ordering::Relaxed)
        );
    }
    took.sort_unstable();
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{:<48} {kind:<5} {count:>6}: {rate:>7.0} delivered/s, publish p50 {:>6.2} ms p99 {:>7.2} ms, sandbox CPU {:>5.0} µs/event",
        way.name(),
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        used.as_secs_f64() * 1e6 / count as f64
    );
    rate
}

/// Launches `way`'s sandbox on an unchanged app until its first accepted publish, `times`
/// times: the median.
fn launch(runtime: &tokio::runtime::Runtime, way: Way, setup: &Setup, times: usize) -> Duration {
    let mut all = Vec::new();
    for _ in 0..times {
        let started = Instant::now();
        let sandbox = start(way, setup);
        runtime.block_on(publish(Way::Now, sandbox.port, "event", "noop", 1));
        all.push(started.elapsed());
    }
    all.sort();
    all[all.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`, `cargo test` nothing: this harness runs only as a bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // The publishers run on one thread: on 2 cores, a second one takes its CPU from the sandbox
    // being measured.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    cargo_build(&["-p", PACKAGE, "--features", "eventfn/sandbox"]);
    // `cargo eventfn dev` writes its build of the app to the same path (cargo puts a binary there
    // whenever it builds, even with nothing to compile): the plain build is run from a copy.
    let plain = tempfile::tempdir().unwrap();
    let binary = plain.path().join(PACKAGE);
    std::fs::copy(target_dir().join("debug").join(PACKAGE), &binary).unwrap();
    cargo_build(&["-p", "cargo-eventfn"]);
    let setup = Setup {
        binary,
        tool: target_dir().join("debug").join("cargo-eventfn"),
    };
    // Builds the app as `cargo eventfn dev` does before anything is timed.
    drop(start(Way::Now, &setup));
    let mut ratios = Vec::new();
    for target in [("event", "noop"), ("queue", "noop-jobs")] {
        for count in [1_000, 10_000] {
            let before = load(&runtime, Way::Before, &setup, target, count);
            let kept_alive = load(&runtime, Way::KeptAlive, &setup, target, count);
            let now = load(&runtime, Way::Now, &setup, target, count);
            let followed = load(&runtime, Way::Followed, &setup, target, count);
            ratios.push(format!(
                "{} {count}: {:.2}× ({:.2}× kept-alive only; followed ÷ now {:.2}×)",
                target.0,
                now / before,
                kept_alive / before,
                followed / now
            ));
        }
    }
    println!("delivered/s, now ÷ before: {}", ratios.join(", "));
    let dev = launch(&runtime, Way::Now, &setup, 5);
    let alone = launch(&runtime, Way::Before, &setup, 5);
    println!(
        "launch to first accepted publish, unchanged app (median of 5): cargo eventfn dev {:.0} ms, the app's binary alone {:.0} ms",
        dev.as_secs_f64() * 1000.0,
        alone.as_secs_f64() * 1000.0
    );
}
