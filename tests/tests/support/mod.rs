//! Drives the real `cargo-eventfn` binary over the fixture and example crates.

#![allow(dead_code)] // each test file uses a part of this module

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// `cargo`, as a user runs it from a shell (see [`remove_crate_env`]).
pub fn cargo() -> Command {
    let mut command = Command::new(env!("CARGO"));
    remove_crate_env(&mut command);
    command
}

/// Leaves out what `cargo test` sets for this crate (`CARGO_MANIFEST_DIR` and the like), as
/// `cargo eventfn` leaves it out of its builds: a build script that watches one of them (ring's)
/// would otherwise run again, and everything above it build again, each time a build with it
/// follows one without.
pub fn remove_crate_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name)
        {
            command.env_remove(name);
        }
    }
}

/// The `cargo-eventfn` binary, built once per test process (a no-op when it is up to date).
pub fn cargo_eventfn() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = cargo()
                .args(["build", "--quiet", "-p", "cargo-eventfn"])
                .current_dir(root())
                .status()
                .expect("run cargo build -p cargo-eventfn");
            assert!(status.success(), "cargo build -p cargo-eventfn failed");
            target_dir().join("debug").join("cargo-eventfn")
        })
        .clone()
}

/// `cargo eventfn <args>` from the workspace root, to be given more environment and run by
/// [`logged`].
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(cargo_eventfn());
    command
        .arg("eventfn")
        .args(args)
        .env("CARGO", env!("CARGO"))
        .current_dir(root());
    command
}

/// `cargo eventfn <args>` run from the workspace root, with extra environment variables.
pub fn eventfn(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = command(args);
    command.envs(envs.iter().copied());
    logged(command, args)
}

/// Runs `command` (`cargo eventfn <args>`), printing what it printed for a failing test's log.
pub fn logged(mut command: Command, args: &[&str]) -> Output {
    let output = command.output().expect("run cargo-eventfn");
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped, also when the test fails.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn venv_tool(name: &str) -> PathBuf {
    let tool = root().join("target/tools/venv/bin").join(name);
    assert!(
        tool.exists(),
        "{name} is not installed in target/tools/venv: run `scripts/setup` (the README's test command does)"
    );
    tool
}

/// `PATH` with `target/tools/venv/bin` first: cargo-zigbuild, and a `python3` with the `ziglang`
/// package, where `cargo eventfn build` finds zig.
pub fn path_with_zig() -> String {
    let venv = venv_tool("cargo-zigbuild").parent().unwrap().to_owned();
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", venv.display())
}

/// The newest glibc symbol version an executable needs, from its dynamic string table.
pub fn newest_glibc(executable: &[u8]) -> Option<(u32, u32)> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(executable).unwrap();
    let dynstr = file.section_by_name(".dynstr")?.data().unwrap();
    dynstr
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok()?.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.');
            Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .max()
}

/// moto's AWS server on a free loopback port.
pub struct Moto {
    pub endpoint: String,
    _process: Process,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let process = Process(
            Command::new(venv_tool("moto_server"))
                .args(["-H", "127.0.0.1", "-p"])
                .arg(port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server"),
        );
        wait_for_port(port, "moto_server");
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: process,
        }
    }

    pub async fn config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            // Plain HTTP to moto, through the client the runtime and `cargo eventfn` build.
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await
    }
}

/// The ARN of an SQS queue, by its URL.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .unwrap()
        .clone()
}

/// Every body in queue `url`, received until a second-long wait finds none left (and left in
/// the queue, invisible for its visibility timeout).
pub async fn bodies(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if batch.messages().is_empty() {
            return bodies;
        }
        bodies.extend(
            batch
                .messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_owned)),
        );
    }
}

/// Makes EventBridge rule `rule` of bus `bus` send to the queue `queue_arn`, as target `id`.
pub async fn target_queue(
    eventbridge: &aws_sdk_eventbridge::Client,
    rule: &str,
    bus: &str,
    id: &str,
    queue_arn: &str,
) {
    eventbridge
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id(id)
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// Creates SQS queue `name`: its URL.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// The templates `cargo eventfn build` wrote, as its JSON summary lists them: `template.json`
/// first, then each nested stack under `stacks/`.
#[allow(dead_code)]
pub fn template_paths(summary: &serde_json::Value) -> Vec<PathBuf> {
    let files = &summary["files"];
    let mut paths = vec![PathBuf::from(files["template"].as_str().unwrap())];
    for stack in files["stacks"].as_array().unwrap() {
        paths.push(PathBuf::from(stack.as_str().unwrap()));
    }
    paths
}

/// The app's templates read as one: each nested stack's resources and outputs beside the
/// parent's, with what the parent passes in place of each of its parameters. Written here rather
/// than taken from the tool (whose code the tests cannot use), so that it is also a second
/// reading of how the stacks fit together: a parameter the parent does not pass fails here.
#[allow(dead_code)]
pub fn flat_template(summary: &serde_json::Value) -> serde_json::Value {
    flat_of(&template_paths(summary))
}

/// The templates of the last build of app `app` (its `[package.metadata.eventfn] app`):
/// `template.json` first, then each nested stack.
#[allow(dead_code)]
pub fn built_template_paths(app: &str) -> Vec<PathBuf> {
    let dir = target_dir().join("eventfn").join(app);
    // The nested stacks a build wrote (`Handlers03.json`), not those another build of the app
    // is writing at the same time (`.Handlers03.json.<pid>.tmp`, renamed into place when done).
    let mut stacks: Vec<PathBuf> = std::fs::read_dir(dir.join("stacks"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|path| {
                    let name = path.file_name().unwrap().to_string_lossy();
                    !name.starts_with('.') && name.ends_with(".json")
                })
                .collect()
        })
        .unwrap_or_default();
    stacks.sort();
    let mut paths = vec![dir.join("template.json")];
    paths.extend(stacks);
    paths
}

/// [`flat_template`] of the templates at `paths`, the parent first.
#[allow(dead_code)]
pub fn flat_of(paths: &[PathBuf]) -> serde_json::Value {
    use serde_json::Value;
    fn inline(value: &Value, passed: &serde_json::Map<String, Value>) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
                let name = map["Ref"].as_str().unwrap();
                passed.get(name).unwrap_or(value).clone()
            }
            Value::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
                let mut text = map["Fn::Sub"].as_str().unwrap().to_owned();
                for (name, value) in passed {
                    if let Some(target) = value["Ref"].as_str() {
                        text = text.replace(&format!("${{{name}}}"), &format!("${{{target}}}"));
                    }
                }
                serde_json::json!({ "Fn::Sub": text })
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), inline(v, passed)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| inline(v, passed)).collect()),
            other => other.clone(),
        }
    }
    let mut flat: Value = serde_json::from_str(&read(&paths[0])).unwrap();
    for path in &paths[1..] {
        let id = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let nested: Value = serde_json::from_str(&read(path)).unwrap();
        let stack = flat["Resources"]
            .as_object_mut()
            .unwrap()
            .remove(&id)
            .unwrap();
        assert_eq!(stack["Type"], "AWS::CloudFormation::Stack", "{id}");
        let passed = stack["Properties"]["Parameters"]
            .as_object()
            .unwrap()
            .clone();
        let declared = nested["Parameters"].as_object().unwrap();
        for name in declared.keys() {
            assert!(
                passed.contains_key(name),
                "{id}: parameter {name} is not passed"
            );
        }
        for section in ["Resources", "Outputs"] {
            let Some(entries) = nested[section].as_object() else {
                continue;
            };
            if !flat[section].is_object() {
                flat[section] = serde_json::json!({});
            }
            for (key, value) in entries {
                let previous = flat[section]
                    .as_object_mut()
                    .unwrap()
                    .insert(key.clone(), inline(value, &passed));
                assert!(previous.is_none(), "{key} is in two stacks");
            }
        }
    }
    flat
}
