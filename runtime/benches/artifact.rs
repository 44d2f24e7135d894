//! The Lambda artifact of an eventfn app against the same app written by hand, built in the same
//! run with the same release profile: the ratio of their stripped, zipped sizes and of their clean
//! build times.
//!
//! - **eventfn**: the welcome example (`examples/welcome`: three event handlers, a queue, two
//!   schedules), built by `cargo eventfn build --release` from an empty target directory, as a
//!   user builds it for `deploy`;
//! - **by hand**: the same six handlers on `lambda_runtime`, `aws_lambda_events` and
//!   `aws-sdk-sns` with the same SDK settings (`benches/handwritten-welcome`), built by `cargo
//!   build --release` from an empty target directory, with this workspace's `Cargo.lock` so that
//!   both resolve the same versions.
//!
//! Both with thin LTO and one codegen unit (`CARGO_PROFILE_RELEASE_LTO`,
//! `CARGO_PROFILE_RELEASE_CODEGEN_UNITS`). Sizes: each binary as linked, stripped by the same
//! `strip --strip-all` and deflated by the same zip writer, so that the ratio is of the code and
//! not of how each is packed; eventfn's own `bootstrap.zip` is printed beside it. Times: from the
//! command to its artifact, the hand-written one's strip and zip included as eventfn's are.
//!
//! `cargo bench -p eventfn --bench artifact` (Linux, with binutils' `strip`). Two clean release
//! builds of the AWS SDK: about ten minutes on 2 cores. The builds go to
//! `target/eventfn-bench/artifact/`, removed after.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::root;
use support::target_dir;

/// Runs `command` with the release profile of the comparison, or panics naming it.
fn run(command: &mut Command) {
    command
        .env("CARGO_PROFILE_RELEASE_LTO", "thin")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO", env!("CARGO"));
    let status = command.status().unwrap();
    assert!(status.success(), "{command:?}: {status}");
}

/// `binary` stripped by binutils and deflated into a zip of one `bootstrap`: its size in bytes.
fn packed(binary: &Path, scratch: &Path) -> u64 {
    let stripped = scratch.join("stripped");
    let status = Command::new("strip")
        .arg("--strip-all")
        .arg(binary)
        .arg("-o")
        .arg(&stripped)
        .status()
        .expect("binutils' strip");
    assert!(status.success(), "strip {}", binary.display());
    zipped(&std::fs::read(&stripped).unwrap())
}

/// The size of a zip holding `data` as an executable `bootstrap`, deflated.
fn zipped(data: &[u8]) -> u64 {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    zip.write_all(data).unwrap();
    zip.finish().unwrap().into_inner().len() as u64
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// The eventfn app built by the tool from nothing: the time, and the binary as linked.
fn eventfn(tool: &Path, dir: &Path) -> (Duration, PathBuf, u64) {
    let started = Instant::now();
    run(Command::new(tool)
        .args(["eventfn", "build", "-q", "-p", "welcome", "--release"])
        .env("CARGO_TARGET_DIR", dir)
        .current_dir(root()));
    let took = started.elapsed();
    let app = dir.join("eventfn").join("welcome");
    let shipped = std::fs::metadata(app.join("bootstrap.zip")).unwrap().len();
    (took, app.join("bootstrap.debug"), shipped)
}

/// The hand-written app built by cargo from nothing, then stripped and zipped: the time, and the
/// binary as linked.
fn by_hand(dir: &Path) -> (Duration, PathBuf) {
    let source = dir.join("source");
    std::fs::create_dir_all(source.join("src")).unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/handwritten-welcome");
    for file in ["Cargo.toml", "src/main.rs"] {
        std::fs::copy(here.join(file), source.join(file)).unwrap();
    }
    std::fs::copy(root().join("Cargo.lock"), source.join("Cargo.lock")).unwrap();
    let target = dir.join("target");
    let started = Instant::now();
    run(Command::new(env!("CARGO"))
        .args(["build", "-q", "--release"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&source));
    let binary = target.join("release").join("handwritten-welcome");
    packed(&binary, dir);
    (started.elapsed(), binary)
}

fn main() {
    // `cargo bench` passes `--bench`, `cargo test` nothing: this harness runs only as a bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "cargo-eventfn"])
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p cargo-eventfn");
    let tool = target_dir().join("debug").join("cargo-eventfn");
    let work = target_dir().join("eventfn-bench").join("artifact");
    let _ = std::fs::remove_dir_all(&work);
    let (ours, theirs) = (work.join("eventfn"), work.join("by-hand"));
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&theirs).unwrap();

    let (hand_time, hand_binary) = by_hand(&theirs);
    let (our_time, our_binary, shipped) = eventfn(&tool, &ours);
    let hand_size = packed(&hand_binary, &theirs);
    let our_size = packed(&our_binary, &ours);
    let linked = |p: &Path| mb(std::fs::metadata(p).unwrap().len());
    println!(
        "by hand: linked {:.2} MB, stripped and zipped {:.2} MB, clean build {:.0} s",
        linked(&hand_binary),
        mb(hand_size),
        hand_time.as_secs_f64()
    );
    println!(
        "eventfn: linked {:.2} MB, stripped and zipped {:.2} MB (its bootstrap.zip: {:.2} MB), clean build {:.0} s",
        linked(&our_binary),
        mb(our_size),
        mb(shipped),
        our_time.as_secs_f64()
    );
    println!(
        "eventfn ÷ by hand: size {:.2}×, clean build time {:.2}×",
        our_size as f64 / hand_size as f64,
        our_time.as_secs_f64() / hand_time.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work);
}
