//! The Lambda runtime against hand-written code, counted in instructions (callgrind), which repeat
//! within 1 % where wall times here swing ±25 %.
//!
//! Three binaries, built in this run with the same release profile (thin LTO, one codegen unit):
//! - `examples/parity_eventfn.rs`: one typed `#[event]` handler, built as `cargo eventfn build`
//!   builds a bootstrap (`--features aws`, so the AWS SDK is linked; position-dependent);
//! - `examples/parity_by_hand.rs`: the same handler on `lambda_runtime`, `aws_lambda_events` and
//!   `serde_json`, built as its users build it (`cargo build --release`);
//! - `examples/hello_lambda.rs`: lambda_runtime's hello world, no SDK.
//!
//! Each runs under `valgrind --tool=callgrind` against a Runtime API served here on loopback,
//! which hands out an SNS event of a 100 KB order a given number of times and then closes the
//! connection, so the runtime stops. Two figures, each as eventfn ÷ by hand:
//! - **dispatch**: the instructions of 400 invocations less those of 200, over 200: what one
//!   invocation costs, start-up and exit left out;
//! - **init**: the instructions of a run with no invocation (process start, the first `/next`,
//!   the exit), eventfn's bootstrap against the hello world.
//!
//! `cargo bench -p eventfn --bench parity` (Linux, with valgrind). The builds go to
//! `target/eventfn-bench/release-lto/`, kept, so a second run only rebuilds what changed; the
//! first builds the AWS SDK in release (minutes). `PARITY_KEEP=1` keeps the callgrind files
//! there for `callgrind_annotate`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;

mod support;
use support::root;

// The bench builds orders; the handlers' work is the examples'.
#[allow(dead_code)]
#[path = "../examples/parity/order.rs"]
mod order;

/// Where the builds of the comparison go, kept from run to run.
fn target_dir() -> PathBuf {
    support::target_dir()
        .join("eventfn-bench")
        .join("release-lto")
}

/// `cargo <args>` with the release profile of the comparison.
fn cargo(args: &[&str]) {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_PROFILE_RELEASE_LTO", "thin")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo {args:?}");
}

/// The SNS event Lambda delivers for a publish of a 100 KB order, as bytes.
fn sns_event() -> Bytes {
    let item = |n: usize| order::Item {
        sku: format!("SKU-{n:06}"),
        description: "A thing to buy, described at some length for realism".to_owned(),
        quantity: (n % 5) as u32 + 1,
        price_cents: 1999 + n as u64,
    };
    let per_item = serde_json::to_string(&item(0)).unwrap().len() + 1;
    let order = order::Order {
        id: "o-123456".to_owned(),
        customer: "c-987654".to_owned(),
        email: "someone@example.com".to_owned(),
        items: (0..100 * 1024 / per_item).map(item).collect(),
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["Records"][0]["Sns"]["Message"] = serde_json::to_string(&order).unwrap().into();
    event["Records"][0]["Sns"]["MessageAttributes"]["eventfn.name"]["Value"] =
        "order.placed".into();
    Bytes::from(serde_json::to_vec(&event).unwrap())
}

/// What the Runtime API saw of one run.
#[derive(Default)]
struct Seen {
    /// Invocations still to hand out.
    left: AtomicU64,
    responses: AtomicU64,
    errors: AtomicU64,
}

type Reply = hyper::Response<Full<Bytes>>;

/// Answers one request of the runtime: an event while any are left, then an error, which makes
/// hyper close the connection and the runtime stop.
async fn answer(
    request: hyper::Request<hyper::body::Incoming>,
    seen: Arc<Seen>,
    event: Bytes,
) -> Result<Reply, String> {
    let path = request.uri().path().to_owned();
    // Read what the runtime posts, as Lambda does.
    let _ = request.into_body().collect().await;
    if path.ends_with("/invocation/next") {
        let left = seen.left.load(Ordering::SeqCst);
        if left == 0 {
            return Err("no invocations left".to_owned());
        }
        seen.left.store(left - 1, Ordering::SeqCst);
        return Ok(hyper::Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", format!("request-{left}"))
            .header("lambda-runtime-deadline-ms", "4102444800000")
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:parity",
            )
            .body(Full::new(event))
            .unwrap());
    }
    if path.ends_with("/response") {
        seen.responses.fetch_add(1, Ordering::SeqCst);
    } else {
        seen.errors.fetch_add(1, Ordering::SeqCst);
    }
    Ok(hyper::Response::builder()
        .status(202)
        .body(Full::new(Bytes::new()))
        .unwrap())
}

/// A Runtime API on a port of loopback, serving `seen`'s invocations of `event`.
fn runtime_api(runtime: &tokio::runtime::Runtime, seen: Arc<Seen>, event: Bytes) -> u16 {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (seen, event) = (seen.clone(), event.clone());
            tokio::spawn(async move {
                let service =
                    service_fn(move |request| answer(request, seen.clone(), event.clone()));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

/// The instructions `binary` runs under callgrind to serve `invocations` (all its threads'),
/// checking that each was answered without an error.
fn instructions(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    envs: &[(&str, &str)],
    invocations: u64,
    event: &Bytes,
    label: &str,
) -> u64 {
    let seen = Arc::new(Seen::default());
    seen.left.store(invocations, Ordering::SeqCst);
    let port = runtime_api(runtime, seen.clone(), event.clone());
    let out = target_dir().join(format!("callgrind.{label}.{invocations}.out"));
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(binary)
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "parity")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .envs(envs.iter().copied())
        .output()
        .expect("valgrind");
    assert_eq!(
        (
            seen.responses.load(Ordering::SeqCst),
            seen.errors.load(Ordering::SeqCst)
        ),
        (invocations, 0),
        "{label}: responses and errors; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    if std::env::var_os("PARITY_KEEP").is_none() {
        let _ = std::fs::remove_file(&out);
    }
    text.lines()
        .find_map(|line| line.strip_prefix("summary: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {}", out.display()))
}

fn main() {
    // `cargo bench` passes `--bench`, `cargo test` nothing: this harness runs only as a bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    cargo(&[
        "rustc",
        "-q",
        "--release",
        "-p",
        "eventfn",
        "--features",
        "aws-base,aws-sns",
        "--example",
        "parity_eventfn",
        "--",
        "-Crelocation-model=static",
    ]);
    cargo(&[
        "build",
        "-q",
        "--release",
        "-p",
        "eventfn",
        "--example",
        "parity_by_hand",
        "--example",
        "hello_lambda",
    ]);
    let examples = target_dir().join("release").join("examples");
    let ours = examples.join("parity_eventfn");
    let theirs = examples.join("parity_by_hand");
    let hello = examples.join("hello_lambda");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let event = sns_event();
    let our_env = [("EVENTFN_HANDLER", "parity_eventfn::placed")];

    let per_invocation = |binary: &Path, envs: &[(&str, &str)], label: &str| {
        let many = instructions(&runtime, binary, envs, 400, &event, label);
        let few = instructions(&runtime, binary, envs, 200, &event, label);
        (many - few) / 200
    };
    let our_dispatch = per_invocation(&ours, &our_env, "eventfn");
    let their_dispatch = per_invocation(&theirs, &[], "by-hand");
    println!(
        "dispatch of a {} KB SNS event, per invocation: eventfn {our_dispatch} instructions, by hand {their_dispatch}: {:.3}×",
        event.len() / 1024,
        our_dispatch as f64 / their_dispatch as f64
    );
    let our_init = instructions(&runtime, &ours, &our_env, 0, &event, "eventfn");
    let hello_init = instructions(&runtime, &hello, &[], 0, &event, "hello");
    let their_init = instructions(&runtime, &theirs, &[], 0, &event, "by-hand");
    println!(
        "init to the first /next and exit: eventfn {our_init} instructions, hello world {hello_init}: {:.3}× (the hand-written handler: {their_init}, {:.3}×)",
        our_init as f64 / hello_init as f64,
        our_init as f64 / their_init as f64
    );
}
