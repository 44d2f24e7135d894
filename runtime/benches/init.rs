//! Init time: from process start to the first `GET /runtime/invocation/next` on the Runtime API,
//! for the `welcome` example's bootstrap as `cargo eventfn build --release` writes it (it links
//! the AWS SDK) against a hand-written `lambda_runtime` hello world without it, both on tokio's
//! multi-thread runtime (`#[tokio::main]`, `examples/hello_lambda.rs`); and, for reference, that
//! hello world on the current-thread runtime, which starts no worker threads
//! (`examples/hello_lambda_current_thread.rs`).
//!
//! Run from the workspace root:
//!
//! ```sh
//! cargo run -p cargo-eventfn -- eventfn build --release --manifest-path examples/welcome/Cargo.toml
//! cargo build --release -p eventfn --example hello_lambda --example hello_lambda_current_thread
//! cargo bench -p eventfn --bench init
//! ```

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

/// `path` under the target directory, which must have been built (see the top of this file).
fn built(path: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    let binary = target.join(path);
    assert!(
        binary.exists(),
        "{} is missing: build it as the top of runtime/benches/init.rs says",
        binary.display()
    );
    binary
}

/// Starts `binary` against a Runtime API that is only a listening socket, and times how long it
/// takes to ask for its first event.
fn time_to_first_next(binary: &PathBuf, listener: &TcpListener, envs: &[(&str, &str)]) -> Duration {
    let address = listener.local_addr().unwrap();
    let start = Instant::now();
    let mut child = Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (stream, _) = listener.accept().unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    let elapsed = start.elapsed();
    assert!(line.contains("/runtime/invocation/next"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
    elapsed
}

fn init(c: &mut Criterion) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let welcome = built("eventfn/welcome/bootstrap");
    let hello = built("release/examples/hello_lambda");
    let hello_current_thread = built("release/examples/hello_lambda_current_thread");
    let mut group = c.benchmark_group("init-to-first-next");
    group.bench_function("eventfn-welcome", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    time_to_first_next(
                        &welcome,
                        &listener,
                        &[("EVENTFN_HANDLER", "welcome::send_welcome")],
                    )
                })
                .sum()
        })
    });
    group.bench_function("hand-written-hello", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| time_to_first_next(&hello, &listener, &[]))
                .sum()
        })
    });
    group.bench_function("hand-written-hello-current-thread", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| time_to_first_next(&hello_current_thread, &listener, &[]))
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, init);
criterion_main!(benches);
