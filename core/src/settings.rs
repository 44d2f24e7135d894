//! App-wide settings, `[package.metadata.eventfn]` in the app's Cargo.toml:
//!
//! ```toml
//! [package.metadata.eventfn]
//! app = "welcome"            # default: the package name
//! region = "eu-west-1"       # default: the AWS configuration's region at deploy time
//! memory = 512               # MB, for handlers that do not set `memory`; default 1024
//! timeout = "10s"            # for handlers that do not set `timeout`; default "5s"
//! architecture = "arm64"     # or "x86_64", the default; `--arm64` overrides it
//! kms_key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
//! timezone = "Europe/Amsterdam"  # for schedules that do not set `timezone`; default UTC
//! ```
//!
//! `kms_key` (optional) is a symmetric customer managed KMS key, by ARN, in the region the app
//! deploys to: it encrypts the functions' log groups and environment variables (which are
//! otherwise encrypted with keys CloudWatch Logs and Lambda manage). Its key policy must let the
//! CloudWatch Logs service principal `logs.<region>.amazonaws.com` use it; the template cannot
//! change that policy, since the key is not part of the stack.
//!
//! `cargo eventfn` reads them from `cargo metadata`, and `eventfn::testing` from the Cargo.toml
//! of the package under test, both through [`Settings::from_metadata`], so a handler's defaults
//! are the same in a test as on AWS.

use serde::Deserialize;
use serde_json::Value;

use crate::manifest::Architecture;
use crate::options::{Defaults, check_memory, parse_timeout};
use crate::validate_name;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    app: Option<String>,
    region: Option<String>,
    memory: Option<u64>,
    timeout: Option<String>,
    architecture: Option<String>,
    kms_key: Option<String>,
    timezone: Option<String>,
}

/// `[package.metadata.eventfn]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `app`: the app's name, when set (the package's name otherwise).
    pub app: Option<String>,
    /// `region`: the AWS region to deploy to, when set.
    pub region: Option<String>,
    /// `architecture`: the Lambda architecture, x86_64 unless set.
    pub architecture: Architecture,
    /// `kms_key`: the ARN of the customer managed KMS key of the functions' log groups and
    /// environment variables, when set.
    pub kms_key: Option<String>,
    /// What a handler that leaves out `memory` or `timeout` gets: `memory` and `timeout` when
    /// set, eventfn's [`Defaults`] otherwise.
    pub defaults: Defaults,
}

impl Settings {
    /// Reads `metadata`, the value of `[package.metadata.eventfn]` as JSON (`None` when the
    /// table is absent). Every error names `manifest` (the Cargo.toml's path) and the key.
    pub fn from_metadata(metadata: Option<&Value>, manifest: &str) -> Result<Settings, String> {
        let raw = match metadata {
            None => Raw::default(),
            Some(value) => Raw::deserialize(value).map_err(|e| {
                format!(
                    "{manifest}: [package.metadata.eventfn]: {e}; the keys are `app`, `region`, \
                     `memory`, `timeout`, `architecture`, `kms_key`, `timezone`"
                )
            })?,
        };
        let key = |k: &str| format!("{manifest}: [package.metadata.eventfn] {k}");
        if let Some(app) = &raw.app {
            validate_name(app).map_err(|e| format!("{}: invalid app name: {e}", key("app")))?;
        }
        let mut defaults = Defaults::default();
        if let Some(memory) = raw.memory {
            defaults.memory =
                check_memory(memory).map_err(|e| format!("{}: {e}", key("memory")))?;
        }
        if let Some(timeout) = &raw.timeout {
            defaults.timeout =
                parse_timeout(timeout).map_err(|e| format!("{}: {e}", key("timeout")))?;
        }
        if let Some(zone) = &raw.timezone {
            crate::zone::parse_timezone(zone).map_err(|e| format!("{}: {e}", key("timezone")))?;
            defaults.timezone = Some(zone.clone());
        }
        let architecture = match raw.architecture.as_deref() {
            None | Some("x86_64") => Architecture::X86_64,
            Some("arm64") => Architecture::Arm64,
            Some(other) => {
                return Err(format!(
                    "{}: `{other}` is not a Lambda architecture: use \"x86_64\" or \"arm64\"",
                    key("architecture")
                ));
            }
        };
        if let Some(region) = &raw.region
            && !is_region(region)
        {
            return Err(format!(
                "{}: `{region}` is not an AWS region name like \"eu-west-1\"",
                key("region")
            ));
        }
        if let Some(arn) = &raw.kms_key {
            let key_region = kms_key_region(arn).map_err(|e| format!("{}: {e}", key("kms_key")))?;
            if let Some(region) = raw.region.as_deref().filter(|r| *r != key_region) {
                return Err(format!(
                    "{}: the key is in region `{key_region}`, but `region` is `{region}`: log \
                     groups and functions can only use a key of their own region",
                    key("kms_key")
                ));
            }
        }
        Ok(Settings {
            app: raw.app,
            region: raw.region,
            architecture,
            kms_key: raw.kms_key,
            defaults,
        })
    }
}

/// Region names are lowercase words and digits joined by `-`, at least three of them
/// (`eu-west-1`).
fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region.split('-').count() >= 3
        && region.split('-').all(|part| !part.is_empty())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The region of `arn` when it is the ARN of a KMS key,
/// `arn:<partition>:kms:<region>:<account>:key/<id>`; why not otherwise.
///
/// A key ID or alias is refused, not only its ARN form: CloudWatch Logs takes nothing but a key
/// ARN for a log group, and an alias would follow the alias to another key on a later deploy.
pub fn kms_key_region(arn: &str) -> Result<&str, String> {
    let expected = "expected the ARN of a KMS key, \
                    like \"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"";
    let quoted = crate::quote::excerpt(arn);
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return Err(format!("`{quoted}` is not an ARN: {expected}"));
    };
    if prefix != "arn" || !(partition == "aws" || partition.starts_with("aws-")) {
        return Err(format!("`{quoted}` is not an ARN: {expected}"));
    }
    if service != "kms" {
        return Err(format!(
            "`{quoted}` is an ARN of `{service}`, not of `kms`: {expected}"
        ));
    }
    if !is_region(region) {
        return Err(format!(
            "`{quoted}` names no region (`{region}`): {expected}"
        ));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{quoted}`: `{account}` is not a 12-digit account ID: {expected}"
        ));
    }
    if resource.starts_with("alias/") {
        return Err(format!(
            "`{quoted}` is an alias: CloudWatch Logs takes only a key's own ARN; \
             `aws kms describe-key --key-id {quoted}` prints it (KeyMetadata.Arn)"
        ));
    }
    match resource.strip_prefix("key/") {
        Some(id)
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Ok(region)
        }
        _ => Err(format!(
            "`{quoted}` does not end in `key/<key id>`: {expected}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn read(value: Value) -> Result<Settings, String> {
        Settings::from_metadata(Some(&value), "app/Cargo.toml")
    }

    #[test]
    fn absent_settings_are_eventfns_defaults() {
        let settings = Settings::from_metadata(None, "Cargo.toml").unwrap();
        assert_eq!(settings.defaults, Defaults::default());
        assert_eq!(settings.architecture, Architecture::X86_64);
        assert_eq!((settings.app, settings.region), (None, None));
        assert_eq!(settings.kms_key, None);
    }

    #[test]
    fn every_key_is_read() {
        let settings = read(json!({
            "app": "welcome", "region": "eu-west-1", "memory": 512, "timeout": "1m30s",
            "architecture": "arm64", "kms_key": KEY
        }))
        .unwrap();
        assert_eq!(settings.app.as_deref(), Some("welcome"));
        assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(settings.architecture, Architecture::Arm64);
        assert_eq!(settings.kms_key.as_deref(), Some(KEY));
        assert_eq!(
            (settings.defaults.memory, settings.defaults.timeout),
            (512, 90)
        );
        assert_eq!(settings.defaults.retries, Defaults::default().retries);
    }

    #[test]
    fn each_bad_value_names_its_key() {
        for (value, expected) in [
            (
                json!({"timeout": "20m"}),
                "app/Cargo.toml: [package.metadata.eventfn] timeout: ",
            ),
            (
                json!({"memory": 64}),
                "app/Cargo.toml: [package.metadata.eventfn] memory: ",
            ),
            (
                json!({"app": "9lives"}),
                "[package.metadata.eventfn] app: invalid app name: ",
            ),
            (
                json!({"architecture": "arm"}),
                "architecture: `arm` is not a Lambda architecture",
            ),
            (
                json!({"region": "Mars"}),
                "region: `Mars` is not an AWS region name",
            ),
            (json!({"timout": "5s"}), "unknown field `timout`"),
            (
                json!({"kms_key": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
                "kms_key: `1234abcd-12ab-34cd-56ef-1234567890ab` is not an ARN: expected the ARN of a KMS key",
            ),
            (
                json!({"kms_key": "arn:aws:kms:eu-west-1:123456789012:alias/logs"}),
                "kms_key: `arn:aws:kms:eu-west-1:123456789012:alias/logs` is an alias",
            ),
            (
                json!({"kms_key": "arn:aws:sqs:eu-west-1:123456789012:key/x"}),
                "is an ARN of `sqs`, not of `kms`",
            ),
            (
                json!({"kms_key": "arn:aws:kms:eu-west-1:1234:key/x"}),
                "`1234` is not a 12-digit account ID",
            ),
            (
                json!({"kms_key": "arn:aws:kms:eu-west-1:123456789012:key/"}),
                "does not end in `key/<key id>`",
            ),
            (
                json!({"kms_key": KEY, "region": "us-east-1"}),
                "kms_key: the key is in region `eu-west-1`, but `region` is `us-east-1`",
            ),
            (json!({"memory": "512"}), "the keys are `app`, `region`"),
        ] {
            let error = read(value.clone()).unwrap_err();
            assert!(error.contains(expected), "{value}: {error}");
        }
    }
}
