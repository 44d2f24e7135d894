//! The local sandbox, end to end with its durable store on: publishes through `eventfn::publish`
//! (the in-process bus, as from a handler) until every subscriber's no-op handler is done.
//!
//! - `sandbox/throughput`: 64 publishers at once, each awaiting its acknowledgement, for an event
//!   with 1 subscriber and one with 10. The baseline in the same run hands the same events to
//!   the same handlers through a tokio channel, with no store and no dispatcher: the ratio is the
//!   price of durability and of the sandbox's bookkeeping.
//! - After criterion, printed: latency from publish to handler start (p50, p99) with one
//!   publisher and with 64 at once; resident memory over a 100,000-event run; and the time from
//!   launching a sandbox process to its first accepted publish (over HTTP).
//!
//! `cargo bench -p eventfn --bench sandbox`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use eventfn::event;
use eventfn::sandbox::engine::{Engine, Settings};
use eventfn::sandbox::log::Log;
use tokio::sync::Notify;

static DONE: AtomicU64 = AtomicU64::new(0);
static TARGET: AtomicU64 = AtomicU64::new(u64::MAX);
static RECORD: AtomicBool = AtomicBool::new(false);
static LATENCIES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn finished() -> &'static Notify {
    static NOTIFY: OnceLock<Notify> = OnceLock::new();
    NOTIFY.get_or_init(Notify::new)
}

/// Nanoseconds since the bench started: what each payload carries as its publish stamp.
fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn arrived(stamp: u64) {
    if RECORD.load(Ordering::Relaxed) {
        let latency = now_ns().saturating_sub(stamp);
        LATENCIES.lock().unwrap().push(latency);
    }
    if DONE.fetch_add(1, Ordering::AcqRel) + 1 == TARGET.load(Ordering::Acquire) {
        finished().notify_waiters();
    }
}

#[event("one")]
async fn one(stamp: u64) -> eventfn::Result<()> {
    arrived(stamp);
    Ok(())
}

macro_rules! ten {
    ($($name:ident)*) => {$(
        #[event("ten")]
        async fn $name(stamp: u64) -> eventfn::Result<()> {
            arrived(stamp);
            Ok(())
        }
    )*};
}
ten!(t0 t1 t2 t3 t4 t5 t6 t7 t8 t9);

const PUBLISHERS: u64 = 64;

/// Publishes `events` events to `name` from `publishers` tasks at once; returns when every
/// delivery (`events * subscribers`) is done.
async fn run(name: &'static str, events: u64, subscribers: u64, publishers: u64) -> Duration {
    DONE.store(0, Ordering::Release);
    TARGET.store(events * subscribers, Ordering::Release);
    let start = Instant::now();
    let tasks: Vec<_> = (0..publishers)
        .map(|p| {
            tokio::spawn(async move {
                let mut n = p;
                while n < events {
                    eventfn::publish(name, &now_ns()).await.unwrap();
                    n += publishers;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    loop {
        // Registered before the check, so the last delivery cannot slip between the two.
        let notified = finished().notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if DONE.load(Ordering::Acquire) >= events * subscribers {
            break;
        }
        notified.await;
    }
    start.elapsed()
}

/// The baseline: the same handlers called through a channel, nothing stored.
async fn baseline(events: u64, subscribers: u64) -> Duration {
    let entries = eventfn::handlers().unwrap();
    let name = if subscribers == 1 { "one" } else { "ten" };
    let targets: Vec<&'static eventfn::Entry> = entries
        .iter()
        .filter(|e| e.registration.name == name)
        .collect();
    let start = Instant::now();
    let (send, mut receive) = tokio::sync::mpsc::unbounded_channel::<String>();
    let consumer = tokio::spawn(async move {
        while let Some(body) = receive.recv().await {
            for entry in &targets {
                let delivery = eventfn::Delivery {
                    id: String::new(),
                    time: 0,
                    delay: 0,
                    attempt: 1,
                    deadline: None,
                };
                entry.invoke(body.clone(), delivery).await.unwrap();
            }
        }
    });
    for _ in 0..events {
        send.send(now_ns().to_string()).unwrap();
    }
    drop(send);
    consumer.await.unwrap();
    start.elapsed()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

fn latency(runtime: &tokio::runtime::Runtime, publishers: u64) {
    for (name, subscribers) in [("one", 1), ("ten", 10)] {
        LATENCIES.lock().unwrap().clear();
        RECORD.store(true, Ordering::Relaxed);
        runtime.block_on(run(name, 10_000, subscribers, publishers));
        RECORD.store(false, Ordering::Relaxed);
        let mut all = std::mem::take(&mut *LATENCIES.lock().unwrap());
        all.sort_unstable();
        println!(
            "latency publish → handler start, {subscribers:>2} subscriber(s), {publishers:>2} publisher(s): p50 {:.0} µs, p99 {:.0} µs ({} deliveries)",
            percentile(&all, 0.50),
            percentile(&all, 0.99),
            all.len()
        );
    }
}

fn resident_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn memory(runtime: &tokio::runtime::Runtime) {
    let mut line = String::from("resident memory over 100,000 events (1 subscriber):");
    for step in 0..5 {
        runtime.block_on(run("one", 20_000, 1, PUBLISHERS));
        line.push_str(&format!(
            " {}k={} MB",
            (step + 1) * 20,
            resident_kb() / 1024
        ));
    }
    println!("{line}");
}

/// Launches this bench's own binary as a sandbox and times its first accepted publish.
fn launch() {
    let exe = std::env::current_exe().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut times = Vec::new();
    for _ in 0..20 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let start = Instant::now();
        let mut child = std::process::Command::new(&exe)
            .arg("--serve-sandbox")
            .env("EVENTFN_SANDBOX_PORT", port.to_string())
            .env("EVENTFN_SANDBOX_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let body = r#"{"messages":[{"kind":"event","name":"one","body":"0"}]}"#;
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let request = format!(
                    "POST /v1/publish HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(request.as_bytes()).unwrap();
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the sandbox did not start"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        times.push(start.elapsed());
        child.kill().unwrap();
        child.wait().unwrap();
    }
    times.sort();
    println!(
        "launch → first accepted publish over HTTP: median {:.1} ms, max {:.1} ms (20 launches)",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--serve-sandbox") {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(eventfn::run()).unwrap();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        store: dir.path().join("sandbox.db"),
        defaults: Default::default(),
        retry_delay_ms: 1000,
    };
    runtime.block_on(async {
        let entries = eventfn::handlers().unwrap();
        let (engine, _) = Engine::start(entries, settings, Log::quiet())
            .await
            .unwrap();
        engine.deliver();
        eventfn::__private::connect_bus(Box::new(eventfn::sandbox::engine::LocalBus(engine)))
            .unwrap();
    });

    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let mut group = criterion.benchmark_group("sandbox");
    const EVENTS: u64 = 5_000;
    for (name, subscribers) in [("one", 1u64), ("ten", 10)] {
        group.throughput(Throughput::Elements(EVENTS * subscribers));
        group.bench_function(BenchmarkId::new("store", subscribers), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| runtime.block_on(run(name, EVENTS, subscribers, PUBLISHERS)))
                    .sum()
            })
        });
        group.bench_function(BenchmarkId::new("channel baseline", subscribers), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| runtime.block_on(baseline(EVENTS, subscribers)))
                    .sum()
            })
        });
    }
    group.finish();
    criterion.final_summary();

    latency(&runtime, 1);
    latency(&runtime, PUBLISHERS);
    memory(&runtime);
    launch();
}
