//! App-wide settings, `[package.metadata.eventfn]` in the app's Cargo.toml:
//!
//! ```toml
//! [package.metadata.eventfn]
//! app = "welcome"            # default: the package name
//! region = "eu-west-1"       # default: the AWS configuration's region at deploy time
//! memory = 512               # MB, for handlers that do not set `memory`; default 1024
//! timeout = "10s"            # for handlers that do not set `timeout`; default "5s"
//! architecture = "arm64"     # or "x86_64", the default; `--arm64` overrides it
//! ```
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
                     `memory`, `timeout`, `architecture`"
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
        if let Some(region) = &raw.region {
            let valid = !region.is_empty()
                && region.split('-').count() >= 3
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                return Err(format!(
                    "{}: `{region}` is not an AWS region name like \"eu-west-1\"",
                    key("region")
                ));
            }
        }
        Ok(Settings {
            app: raw.app,
            region: raw.region,
            architecture,
            defaults,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: Value) -> Result<Settings, String> {
        Settings::from_metadata(Some(&value), "app/Cargo.toml")
    }

    #[test]
    fn absent_settings_are_eventfns_defaults() {
        let settings = Settings::from_metadata(None, "Cargo.toml").unwrap();
        assert_eq!(settings.defaults, Defaults::default());
        assert_eq!(settings.architecture, Architecture::X86_64);
        assert_eq!((settings.app, settings.region), (None, None));
    }

    #[test]
    fn every_key_is_read() {
        let settings = read(json!({
            "app": "welcome", "region": "eu-west-1", "memory": 512, "timeout": "1m30s",
            "architecture": "arm64"
        }))
        .unwrap();
        assert_eq!(settings.app.as_deref(), Some("welcome"));
        assert_eq!(settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(settings.architecture, Architecture::Arm64);
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
            (json!({"memory": "512"}), "the keys are `app`, `region`"),
        ] {
            let error = read(value.clone()).unwrap_err();
            assert!(error.contains(expected), "{value}: {error}");
        }
    }
}
